"""The training package: fit's options declared and checked once, and the small protocol
of what it uses from a model."""

from __future__ import annotations

import ast
import inspect
from dataclasses import fields
from pathlib import Path

import pytest

import minifw as mf
from minifw.training import FitOptions
from minifw.training.protocol import TrainableModel

TRAINING = Path(mf.training.__file__).parent


def test_sequential_fit_declares_the_options_fit_options_checks_with_the_same_defaults():
    signature = inspect.signature(mf.Sequential.fit).parameters
    declared = {
        name: p.default
        for name, p in signature.items()
        if p.kind is p.KEYWORD_ONLY and name != "x"  # Keras's spelling of the inputs X
    }
    assert declared == {field.name: field.default for field in fields(FitOptions)}


@pytest.mark.parametrize(
    ("option", "value", "error", "message"),
    [
        ("epochs", -1, ValueError, "`epochs` must be a non-negative integer"),
        ("batch_size", 0, ValueError, "`batch_size` must be a positive integer"),
        ("shuffle", "yes", TypeError, "`shuffle` must be True or False"),
        ("verbose", 3, ValueError, "`verbose` must be 0, 1, 2 or 'auto'"),
        ("callbacks", mf.callbacks.History(), TypeError, "must be a list of Callback"),
        ("validation_data", ([1.0],), ValueError, "must be a tuple \\(X_val, y_val\\)"),
        ("on_nonfinite", "ignore", ValueError, "'raise' or 'stop'"),
        ("steps_per_epoch", 0, ValueError, "`steps_per_epoch` must be a positive integer"),
    ],
)
def test_each_option_is_checked_in_one_place(option, value, error, message):
    with pytest.raises(error, match=message):
        FitOptions.checked(**{option: value})


def test_checked_options_are_resolved_once():
    options = FitOptions.checked(batch_size=None, callbacks=None, verbose=False)
    assert (options.batch_size, options.callbacks, options.verbose) == (32, [], 0)
    assert FitOptions.checked(callbacks=[mf.callbacks.TerminateOnNaN()]).stop_on_nonfinite
    with pytest.raises(TypeError, match="unknown option"):
        FitOptions.checked(epoch=3)


def model_attributes_used(path: Path) -> set[str]:
    """Every ``model.<name>`` the module reads or writes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "model"
    }


def test_the_training_package_uses_only_what_its_protocol_declares():
    declared = set(TrainableModel.__annotations__) | {
        name for name, value in vars(TrainableModel).items() if callable(value)
    }
    for path in TRAINING.glob("*.py"):
        extra = model_attributes_used(path) - declared
        assert not extra, f"{path.name} uses model.{', model.'.join(sorted(extra))}"
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)])
    model.compile("sgd", "mse")
    for name in declared:  # and Sequential provides all of it
        getattr(model, name)

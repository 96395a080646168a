"""The architecture's promises: one owner per layer, public seams only, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import minifw as mf

PACKAGE = Path(mf.__file__).parent


def modules() -> dict[str, ast.Module]:
    """Every module of the package, by dotted name, parsed."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def imported_modules(name: str, tree: ast.Module) -> set[str]:
    """The package's modules that ``name`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    package = (
        name
        if (PACKAGE / Path(*name.split(".")[1:]) / "__init__.py").exists()
        else (name.rpartition(".")[0])
    )
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    targets = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            candidates = [module] + [f"{module}.{alias.name}" for alias in node.names]
            targets.update(c for c in candidates if c.startswith("minifw"))
        elif isinstance(node, ast.Import):
            targets.update(a.name for a in node.names if a.name.startswith("minifw"))
    return targets


def test_the_first_dense_layer_returns_its_input_gradient_after_training(rng):
    model = mf.Sequential(
        [mf.layers.Dense(3, input_dim=2, activation="tanh"), mf.layers.Dense(1)], seed=0
    )
    model.compile("sgd", "mse")
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    model.fit(X, y, epochs=2, verbose=0)
    first = model.layers[0]
    G = np.ones((8, 3), dtype=np.float32)
    first.forward(X)
    dx = first.backward(G)
    assert dx is not None and dx.shape == (8, 2)
    # ∂L/∂X = (G ⊙ tanh'(net)) Wᵀ
    net = X.astype(np.float32) @ first.params["W"] + first.params["b"]
    expected = (G * (1 - np.tanh(net) ** 2)) @ first.params["W"].T
    np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-6)


def own_private_names(tree: ast.Module) -> set[str]:
    """The underscore names a module defines itself: ``self._x = ...``, ``def _x``, ``_X = ...``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)  # module and class constants
    return {name for name in names if name.startswith("_")}


def test_no_module_uses_another_modules_underscore_names():
    offences = []
    for name, tree in modules().items():
        own = own_private_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                offences += [
                    f"{name}: from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.endswith("__")
                ]
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in own
            ):
                offences.append(f"{name}:{node.lineno}: .{node.attr}")
    assert not offences, "\n".join(offences)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports as a list of module names, or None. An edge from a module to
    its own package (a package's ``__init__`` importing its modules) does not count."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if target == node or node.startswith(target + "."):
                continue
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state:
                cycle = visit(target, [*path, target])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name, [name])
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle():
    trees = modules()
    graph = {name: imported_modules(name, tree) & set(trees) for name, tree in trees.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"p": {"p.m"}, "p.m": {"p"}}) is None  # a package and its module


def test_losses_and_metrics_know_nothing_of_layers():
    trees = modules()
    for name in ("minifw.losses", "minifw.metrics"):
        assert not any(t.startswith("minifw.layers") for t in imported_modules(name, trees[name]))


def test_every_exported_layer_is_registered_and_every_registered_layer_exported():
    exported = {
        name
        for name in mf.layers.__all__
        if isinstance(getattr(mf.layers, name), type)
        and issubclass(getattr(mf.layers, name), mf.layers.Layer)
        and name not in ("Layer", "Activation", "KernelLayer", "Recurrent")  # the bases
    }
    classes = mf.layers.LAYERS.classes
    own = {name for name, cls in classes.items() if cls.__module__.startswith("minifw.")}
    assert exported == own


def test_a_new_layer_is_one_class_and_a_decorator(rng):
    @mf.layers.register()
    class Scale(mf.layers.Layer):
        """o = s · x, one trainable scale per feature."""

        def param_shapes(self, input_shape):
            return {"s": (input_shape[-1],)}

        def initial_value(self, key, shape, rng, dtype):
            return np.full(shape, 2.0, dtype=dtype)

        def forward(self, x, training=False):  # no duty beyond its own cache
            self._x = x
            return x * self.params["s"]

        def backward(self, grad_output):
            np.sum(grad_output * self._x, axis=0, out=self.grads["s"])
            return grad_output * self.params["s"]

    try:
        model = mf.Sequential([Scale(), mf.layers.Dense(1)], dtype="float64", seed=0)
        model.compile("sgd", "mse")
        X, y = rng.normal(size=(6, 3)), rng.normal(size=6)
        assert max(mf.gradcheck(model, X, y).values()) < 1e-6
        assert mf.layers.deserialize(mf.layers.serialize(Scale())).__class__ is Scale
        with pytest.raises(ValueError, match=r"Scale expected inputs of shape \(n, 3\)"):
            model.layers[0].forward(np.ones((2, 4)))
        scale = model.layers[0]
        with pytest.raises(RuntimeError, match="call forward before backward"):
            Scale().backward(np.ones((2, 3)))
        scale.forward(np.ones((2, 3)))  # the checks record the output's shape themselves
        with pytest.raises(ValueError, match=r"expected grad_output of shape \(2, 3\)"):
            scale.backward(np.ones((5, 3)))
        assert scale.backward(np.ones((2, 3))).shape == (2, 3)
    finally:
        del mf.layers.LAYERS.classes["Scale"], mf.layers.LAYERS.names["scale"]

from __future__ import annotations

import builtins

import numpy as np
import pytest
from support import lecture_model

import minifw as mf


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def worked_221() -> mf.Sequential:
    return lecture_model()


@pytest.fixture
def salary() -> tuple[np.ndarray, np.ndarray]:
    return mf.datasets.salary()


@pytest.fixture
def refuse_import(monkeypatch):
    """``refuse_import("pkg")`` makes ``import pkg`` fail, as on a machine without it."""
    real_import = builtins.__import__

    def refuse(package: str) -> None:
        def importer(name, *args, **kwargs):
            if name.startswith(package):
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", importer)

    return refuse


@pytest.fixture
def no_matplotlib(refuse_import):
    """Make ``import matplotlib`` fail, as on a machine without it."""
    refuse_import("matplotlib")

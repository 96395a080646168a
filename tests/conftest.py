from __future__ import annotations

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

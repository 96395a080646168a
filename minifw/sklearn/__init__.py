"""scikit-learn estimators on minifw.

- ``MLPClassifier``, ``MLPRegressor`` (``mlp``): scikit-learn's MLP, parameter for
  parameter: swapping the import is the whole migration.
- ``Classifier``, ``Regressor`` (``estimators``): the earlier estimators, with minifw's
  own parameter names (``hidden``, ``epochs``).

scikit-learn is an optional extra (``pip install 'minifw[sklearn]'``).
"""

from __future__ import annotations

from .estimators import Classifier, Regressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "Classifier", "Regressor"]

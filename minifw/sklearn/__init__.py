"""scikit-learn estimators on minifw.

- ``MLPClassifier``, ``MLPRegressor`` (``mlp``): scikit-learn's MLP, parameter for
  parameter: swapping the import is the whole migration.
- ``Classifier``, ``Regressor`` (``estimators``): the earlier estimators, with minifw's
  own parameter names (``hidden``, ``epochs``).

With skl2onnx installed, ``skl2onnx.to_onnx(pipeline, X[:1])`` converts a whole pipeline
that ends in an MLP estimator (``onnx``). scikit-learn is an optional extra
(``pip install 'minifw[sklearn]'``).
"""

from __future__ import annotations

from . import onnx
from .estimators import Classifier, Regressor
from .mlp import MLPClassifier, MLPRegressor

onnx.register()  # skl2onnx's converters, when it is installed (extra minifw[onnx])

__all__ = ["MLPClassifier", "MLPRegressor", "Classifier", "Regressor"]

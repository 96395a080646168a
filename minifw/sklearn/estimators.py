"""scikit-learn estimators on minifw: ``Classifier`` and ``Regressor``.

They follow scikit-learn's conventions (parameters stored untouched by
``__init__``, fitted attributes ending in ``_``), so they work in ``Pipeline``,
``GridSearchCV``, ``cross_val_score`` and ``clone``, and pickle for joblib:

>>> from minifw.sklearn import Classifier
>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> X, y = load_iris(return_X_y=True)
>>> pipeline = make_pipeline(StandardScaler(), Classifier(hidden=(16,), learning_rate=0.01,
...                                                       epochs=100, random_state=0))
>>> pipeline.fit(X, y).score(X, y) > 0.95
True

The network: Dense layers of ``hidden`` units with ``activation``, then one
output per class (softmax, sparse categorical cross-entropy) or per target
(linear, MSE). ``model`` gives full control: a function
``model(n_features, n_outputs)`` returning a Sequential (or a list of layers),
which the estimator compiles with its optimizer and loss. Training stops, as
scikit-learn's MLP does, when the training loss (with ``early_stopping``, the
loss on a held-out ``validation_fraction``) has not improved by ``tol`` for
``n_iter_no_change`` epochs. scikit-learn is an optional extra
(``pip install 'minifw[sklearn]'``), imported only by this module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError:
    raise ImportError(
        "minifw.sklearn needs scikit-learn: pip install 'minifw[sklearn]' "
        "(or pip install scikit-learn)."
    ) from None

from .. import callbacks, layers, losses, optimizers
from ..model import Sequential

__all__ = ["Classifier", "Regressor"]


def _unchanged_on_error(method: Callable) -> Callable:
    """``fit``/``partial_fit`` that change nothing when they raise: a refit refused for bad
    data keeps the fitted network (and every fitted attribute) as it was, and a refused
    first ``partial_fit`` leaves the estimator unfitted."""

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return checked


def network_from(model: Callable, features: int, outputs: int, dtype, seed) -> Sequential:
    """The network an estimator's ``model`` function gives: ``model(n_features, n_outputs)``
    returns a Sequential, or layers for a new one in ``dtype`` seeded by ``seed``."""
    built = model(features, outputs)
    if isinstance(built, Sequential):
        return built
    return Sequential(list(built), dtype=dtype, seed=seed)


class _Estimator(BaseEstimator):
    """What Classifier and Regressor share: the network, the training, the checks."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (64,),
        activation: str = "relu",
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        epochs: int = 200,
        batch_size: int = 32,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        tol: float = 1e-4,
        n_iter_no_change: int = 10,
        model: Callable | None = None,
        dtype: str = "float64",
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.model = model
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # -- subclasses ----------------------------------------------------------------

    def _loss(self) -> losses.Loss:
        raise NotImplementedError

    def _output_layers(self, outputs: int) -> list:
        raise NotImplementedError

    # -- the network -----------------------------------------------------------------

    def _network(self, features: int, outputs: int) -> Sequential:
        seed = self.random_state
        if seed is not None and not isinstance(seed, (int, np.integer)):
            seed = int(np.random.RandomState(seed).randint(2**31))  # a RandomState instance
        if self.model is not None:
            network = network_from(self.model, features, outputs, self.dtype, seed)
        else:
            hidden = [layers.Dense(int(units), activation=self.activation) for units in self.hidden]
            network = Sequential(
                [*hidden, *self._output_layers(outputs)], dtype=self.dtype, seed=seed
            )
        optimizer = optimizers.get(self.optimizer)
        if isinstance(self.optimizer, str):
            optimizer.learning_rate = self.learning_rate
        network.compile(optimizer, self._loss())
        network.build((None, features))
        return network

    def _train(self, X: np.ndarray, Y: np.ndarray, epochs: int) -> None:
        monitor = "val_loss" if self.early_stopping else "loss"
        stop = callbacks.EarlyStopping(
            monitor=monitor,
            min_delta=self.tol,
            patience=self.n_iter_no_change,
            restore_best_weights=self.early_stopping,
        )
        history = self.model_.fit(
            X,
            Y,
            epochs=epochs,
            batch_size=min(self.batch_size, len(X)),
            validation_split=self.validation_fraction if self.early_stopping else 0.0,
            callbacks=[stop] if epochs > 1 else [],
            verbose=self.verbose,
        )
        self.history_ = history.history
        self.n_iter_ = getattr(self, "n_iter_", 0) + len(history.epoch)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class Classifier(ClassifierMixin, _Estimator):
    """A neural-network classifier (see the module docstring): labels of any type.

    Fitted attributes: ``model_`` (the Sequential), ``classes_``, ``n_features_in_``
    (and ``feature_names_in_`` for a DataFrame), ``history_``, ``n_iter_``.
    """

    def _loss(self):
        return losses.SparseCategoricalCrossEntropy()

    def _output_layers(self, outputs: int) -> list:
        return [layers.Dense(outputs, activation="softmax")]

    @_unchanged_on_error
    def fit(self, X, y):
        """Train a new network on (X, y)."""
        X, y = validate_data(self, X, y, reset=True)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                "Classifier needs at least two classes in y; it holds one class: "
                f"{self.classes_[0]}."
            )
        self.n_iter_ = 0
        self.model_ = self._network(X.shape[1], len(self.classes_))
        self._train(X, self._encoder.transform(y), self.epochs)
        return self

    @_unchanged_on_error
    def partial_fit(self, X, y, classes=None):
        """One epoch on (X, y), from the current weights; ``classes`` (all labels) is
        needed on the first call, as in scikit-learn."""
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=first)
        y = column_or_1d(y, warn=True)
        if first:
            if classes is None:
                raise ValueError("partial_fit needs `classes` (every label) on its first call.")
            check_classification_targets(y)
            self._encoder = LabelEncoder().fit(np.asarray(classes))
            self.classes_ = self._encoder.classes_
            self.model_ = self._network(X.shape[1], len(self.classes_))
        unknown = set(np.unique(y).tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"partial_fit: labels {sorted(unknown)!r} are not among `classes`.")
        self._train(X, self._encoder.transform(y), 1)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The probability of each class, columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X)

    def predict(self, X) -> np.ndarray:
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]


class Regressor(RegressorMixin, _Estimator):
    """A neural-network regressor (see the module docstring): y of shape (n,) or (n, k).

    Fitted attributes: ``model_``, ``n_features_in_`` (and ``feature_names_in_``),
    ``history_``, ``n_iter_``.
    """

    def _loss(self):
        return losses.MSELoss()

    def _output_layers(self, outputs: int) -> list:
        return [layers.Dense(outputs)]

    @_unchanged_on_error
    def fit(self, X, y):
        """Train a new network on (X, y)."""
        X, y = validate_data(self, X, y, reset=True, multi_output=True, y_numeric=True)
        self._one_column = y.ndim == 1
        self.n_iter_ = 0
        self.model_ = self._network(X.shape[1], 1 if y.ndim == 1 else y.shape[1])
        self._train(X, y, self.epochs)
        return self

    @_unchanged_on_error
    def partial_fit(self, X, y):
        """One epoch on (X, y), from the current weights (a new network on the first call)."""
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True)
        if first:
            self._one_column = y.ndim == 1
            self.n_iter_ = 0
            self.model_ = self._network(X.shape[1], 1 if y.ndim == 1 else y.shape[1])
        self._train(X, y, 1)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        out = self.model_.predict(X)
        return out[:, 0] if self._one_column else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's MLP, trained by minifw.

Swapping ``from sklearn.neural_network import MLPClassifier`` for ``from minifw.sklearn
import MLPClassifier`` is the whole migration: the parameters, their defaults and
meanings, their validation, ``sample_weight``, ``partial_fit``, ``warm_start`` and the
fitted attributes are scikit-learn's. What is minifw's own: ``dtype``, ``jit_compile``
and ``model`` (a function ``model(n_features, n_outputs)`` returning layers or a
Sequential, in place of ``hidden_layer_sizes`` and ``activation``).

How scikit-learn's choices map onto a minifw fit:

- the network is Dense(h, activation) per hidden layer and a Dense output: logistic
  with binary cross-entropy (binary and multilabel), softmax with categorical
  cross-entropy (multiclass), identity with half squared error, or exponential with
  the Poisson loss (``loss="poisson"``);
- ``alpha`` is scikit-learn's L2 term ½ α ‖W‖² / (batch rows) on the kernels: an L2
  regularizer of α / (2 · batch_size) (for lbfgs, α / (2 n));
- ``solver``: Adam, SGD with momentum (Nesterov when ``nesterovs_momentum``), or
  minifw's L-BFGS (one iteration an epoch, ``max_fun`` evaluations);
- ``learning_rate="invscaling"``: η = η₀ / (t + 1)^power_t, t the samples seen before
  the epoch; ``"adaptive"``: η ÷ 5 when the loss (or validation score) has not
  improved by ``tol`` for ``n_iter_no_change`` epochs, stopping when η < 1e-6;
- without ``early_stopping`` training stops when the training loss has not improved by
  ``tol`` for ``n_iter_no_change`` epochs; with it, on the validation score (accuracy
  or R² on a held-out ``validation_fraction``), and the best weights are restored;
- ``ConvergenceWarning`` when ``max_iter`` epochs end first.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from .. import callbacks, layers, losses, optimizers, regularizers, schedules
from ..model import Sequential
from .estimators import network_from

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names → minifw's layers.
_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


@schedules.register("mlp_inverse_scaling")
class InverseScaling(schedules.LearningRateSchedule):
    """η = η₀ / (t + 1)^power_t, t = the samples seen before the current epoch (scikit-learn's
    ``learning_rate="invscaling"``, updated once an epoch)."""

    def __init__(self, initial_learning_rate, power_t, rows, steps_per_epoch):
        self.initial_learning_rate, self.power_t = initial_learning_rate, power_t
        self.rows, self.steps_per_epoch = rows, steps_per_epoch

    def __call__(self, step):
        seen = (step // self.steps_per_epoch) * self.rows
        return self.initial_learning_rate / (seen + 1) ** self.power_t

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "power_t": self.power_t,
            "rows": self.rows,
            "steps_per_epoch": self.steps_per_epoch,
        }


class _Convergence(callbacks.Callback):
    """scikit-learn's stopping rule, after each epoch: ``n_iter_no_change`` epochs without an
    improvement by ``tol`` (of the training loss, or of the validation score) stop
    training, or with ``learning_rate="adaptive"`` divide η by 5 first."""

    def __init__(self, estimator, validation) -> None:
        super().__init__()
        self.estimator, self.validation = estimator, validation
        self.converged = False

    def on_epoch_end(self, epoch, logs=None):
        est = self.estimator
        est.loss_curve_.append(float(logs["loss"]))
        est.n_iter_ += 1
        est.t_ += est._rows
        if self.validation is not None:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            improved = score >= est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = self.model.get_weights()
        else:
            improved = est.loss_curve_[-1] <= est.best_loss_ - est.tol
            est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_curve_[-1]:.8f}")
        if est._no_improvement_count > est.n_iter_no_change:
            optimizer = self.model.optimizer
            adaptive = est.solver == "sgd" and est.learning_rate == "adaptive"
            if adaptive and optimizer.learning_rate > 1e-6:
                optimizer.learning_rate = optimizer.learning_rate / 5.0
                est._no_improvement_count = 0
            else:
                self.converged = True
                self.model.stop_training = True


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share (see the module docstring)."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"})],
        "jit_compile": ["boolean"],
        "model": [callable, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype="float64",
        jit_compile=False,
        model=None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.jit_compile = jit_compile
        self.model = model

    # -- what the subclasses say ------------------------------------------------------------

    def _targets(self, y, keep: bool, classes=None) -> np.ndarray:
        """The targets as the network's outputs (n, outputs); sets ``out_activation_``."""
        raise NotImplementedError

    def _validation_score(self, X, Y) -> float:
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental: bool, classes=None):
        # scikit-learn's own constraint mechanism (what its estimators' fit runs first)
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )
        if self.jit_compile:
            raise ValueError(
                "jit_compile=True needs minifw's compiled engine, which this version does not "
                "have; use jit_compile=False."
            )
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, Integral) else list(hidden)
        if any(not isinstance(units, Integral) or units < 1 for units in hidden):
            raise ValueError(
                "hidden_layer_sizes must be positive integers. Received: "
                f"{self.hidden_layer_sizes!r}"
            )
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        fitted = hasattr(self, "model_")
        keep = fitted and (incremental or self.warm_start)
        X, y = validate_data(
            self,
            X,
            y,
            reset=not keep,
            multi_output=True,
            dtype=np.dtype(self.dtype),
            y_numeric=not is_classifier(self),
        )
        if is_classifier(self) and y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if sample_weight is not None:
            sample_weight = check_array(sample_weight, ensure_2d=False, dtype=np.float64)
            if sample_weight.shape != (len(X),):
                raise ValueError(
                    f"sample_weight.shape == {sample_weight.shape}, expected ({len(X)},)!"
                )
        Y = self._targets(y, keep, classes)
        self._random_state = check_random_state(self.random_state)
        validation = None
        if self.early_stopping:
            # as scikit-learn: stratified for a classifier of one output (binary)
            stratify = Y[:, 0] if is_classifier(self) and Y.shape[1] == 1 else None
            parts = train_test_split(
                X,
                Y,
                *([] if sample_weight is None else [sample_weight]),
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X, X_val, Y, Y_val = parts[:4]
            sample_weight = None if sample_weight is None else parts[4]
            if len(X_val) < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the "
                    "size of your dataset."
                )
            validation = (X_val, Y_val)
        rows = len(X)
        if self.solver == "lbfgs":  # one batch: α's divisor is its weight, as scikit-learn's
            batch = rows if sample_weight is None else float(sample_weight.sum())
        elif self.batch_size == "auto":
            batch = min(200, rows)
        else:
            if self.batch_size > rows:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                    "clipped",
                    stacklevel=3,
                )
            batch = int(np.clip(self.batch_size, 1, rows))
        if not keep:
            self.model_ = self._network(X.shape[1], Y.shape[1], hidden, rows, batch)
            self.n_iter_, self.t_ = 0, 0
            self.loss_curve_ = []
        self._rows = rows
        self._no_improvement_count = 0
        self.best_loss_ = np.inf if not self.early_stopping else None
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._best_weights = None
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, sample_weight, validation, batch, incremental)
        weights = self.model_.get_weights()
        self.coefs_, self.intercepts_ = weights[0::2], weights[1::2]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = Y.shape[1]
        return self

    def _network(self, features, outputs, hidden, rows, batch) -> Sequential:
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        l2 = regularizers.L2(self.alpha / (2 * batch)) if self.alpha else None
        output, loss = self._output()
        if self.model is not None:
            network = network_from(self.model, features, outputs, self.dtype, seed)
        else:
            activation = _ACTIVATIONS[self.activation]
            network = Sequential(
                [
                    *(
                        layers.Dense(int(units), activation=activation, kernel_regularizer=l2)
                        for units in hidden
                    ),
                    layers.Dense(outputs, activation=output, kernel_regularizer=l2),
                ],
                dtype=self.dtype,
                seed=seed,
            )
        network.compile(self._optimizer(rows, batch), loss)
        network.build((None, features))
        return network

    def _optimizer(self, rows, batch) -> optimizers.Optimizer:
        if self.solver == "lbfgs":
            return optimizers.LBFGS(
                tolerance_grad=max(self.tol, 1e-300), max_evaluations=self.max_fun
            )
        if self.solver == "adam":
            return optimizers.Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        rate = self.learning_rate_init
        if self.learning_rate == "invscaling":
            rate = InverseScaling(rate, self.power_t, rows, -(-rows // batch))
        return optimizers.SGD(
            rate, momentum=self.momentum, nesterov=self.nesterovs_momentum and self.momentum > 0
        )

    def _fit_stochastic(self, X, Y, sample_weight, validation, batch, incremental):
        convergence = _Convergence(self, validation)
        epochs = 1 if incremental else self.max_iter
        self.model_.fit(
            X,
            Y,
            epochs=epochs,
            batch_size=batch,
            shuffle=self.shuffle,
            sample_weight=sample_weight,
            callbacks=[convergence],
            verbose=0,
        )
        if self._best_weights is not None:
            self.model_.set_weights(self._best_weights)
        if not incremental and not convergence.converged and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _fit_lbfgs(self, X, Y, sample_weight):
        history = self.model_.fit(
            X, Y, epochs=self.max_iter, sample_weight=sample_weight, verbose=0
        )
        self.loss_curve_ = list(history.history["loss"])
        self.n_iter_ = len(self.loss_curve_)
        self.t_ = self.n_iter_ * len(X)
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else np.inf
        if self.n_iter_ == self.max_iter:
            warnings.warn(
                f"lbfgs failed to converge after {self.max_iter} iteration(s) (max_iter "
                "reached). Increase the number of iterations or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _predict_raw(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.dtype(self.dtype))
        return self.model_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's ``MLPClassifier``, trained by minifw (see the module docstring).

    Fitted attributes as scikit-learn's: ``classes_``, ``coefs_``, ``intercepts_``,
    ``n_iter_``, ``loss_``, ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``t_``, ``n_features_in_``, ``feature_names_in_``,
    ``n_layers_``, ``n_outputs_``, ``out_activation_``; and ``model_``, the Sequential.
    """

    def _targets(self, y, keep, classes=None):
        if not keep:
            self._label_binarizer = LabelBinarizer().fit(y if classes is None else classes)
            self.classes_ = self._label_binarizer.classes_
        elif type_of_target(y) != "multilabel-indicator":
            unknown = set(unique_labels(y)) - set(self.classes_)
            if unknown:
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{list(self.classes_)}. 'y' has {sorted(unknown)}."
                )
        Y = self._label_binarizer.transform(y).astype(self.dtype)
        binary_or_multilabel = self._label_binarizer.y_type_ in ("binary", "multilabel-indicator")
        self.out_activation_ = "logistic" if binary_or_multilabel else "softmax"
        return Y

    def _output(self):
        if self.out_activation_ == "logistic":
            return "sigmoid", losses.BinaryCrossEntropy()
        return "softmax", losses.CategoricalCrossEntropy()

    def _validation_score(self, X, Y) -> float:
        return accuracy_score(
            self._label_binarizer.inverse_transform(Y), self._predict_labels(self.model_.predict(X))
        )

    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y), from scratch unless ``warm_start``."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch on (X, y); ``classes`` (every label) is needed on the first call."""
        if self.solver == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers.")
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _predict_labels(self, probabilities: np.ndarray) -> np.ndarray:
        if self.out_activation_ == "softmax":
            return self.classes_[np.argmax(probabilities, axis=1)]
        return self._label_binarizer.inverse_transform(probabilities, threshold=0.5)

    def predict(self, X):
        """The class of each row (for multilabel, a 0/1 row of labels)."""
        return self._predict_labels(self._predict_raw(X))

    def predict_proba(self, X):
        """Probabilities, columns in the order of ``classes_`` (binary: two columns)."""
        probabilities = self._predict_raw(X)
        binary = len(self.classes_) == 2 and probabilities.shape[1] == 1
        if self.out_activation_ == "logistic" and binary:
            return np.hstack([1 - probabilities, probabilities])
        return probabilities

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's ``MLPRegressor``, trained by minifw (see the module docstring)."""

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype="float64",
        jit_compile=False,
        model=None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            jit_compile=jit_compile,
            model=model,
        )
        self.loss = loss

    def _targets(self, y, keep, classes=None):
        y = np.asarray(y, dtype=self.dtype)
        if self.loss == "poisson" and y.size and y.min() < 0:
            raise ValueError("Some value(s) of y are out of the valid range of the loss 'poisson'.")
        self._one_column = y.ndim == 1
        self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _output(self):
        if self.loss == "poisson":
            return "exponential", losses.Poisson()
        return None, losses.HalfSquaredError()

    def _validation_score(self, X, Y) -> float:
        return r2_score(Y, self.model_.predict(X))

    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y), from scratch unless ``warm_start``."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on (X, y), from the current weights (a new network on the first call)."""
        if self.solver == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers.")
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        out = self._predict_raw(X)
        return out[:, 0] if self._one_column else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

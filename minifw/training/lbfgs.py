"""Full-batch training: L-BFGS through ``scipy.optimize.minimize``, one epoch per iteration.

scipy drives the iterations and asks for the loss and gradient of the whole
training set at the weights it chooses; each completed iteration is logged as
an epoch, with the callbacks and validation a minibatch ``fit`` has.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from ..errors import NonFiniteError
from .inference import end_epoch, metric_logs


def fit_full_batch(model, X, Y, weights, epochs: range, validation, callbacks) -> None:
    """L-BFGS on the whole of (X, Y) until ``epochs`` ends, scipy converges or training stops."""
    optimizer, plan = model.optimizer, model.plan
    params, grads = model.parameters.params, model.parameters.grads
    x = X.astype(model.dtype, copy=False)
    epoch_iter = iter(epochs)

    def loss_and_gradient(vector: np.ndarray) -> tuple[float, np.ndarray]:
        params[...] = vector
        loss, _ = plan.loss_and_gradients(x, Y, weights)
        optimizer.evaluations += 1
        if not math.isfinite(loss):
            return math.inf, np.zeros_like(vector)  # tells the line search to step back
        return loss, grads.astype(np.float64)

    def after_iteration(intermediate_result) -> None:
        epoch = next(epoch_iter)
        params[...] = intermediate_result.x
        optimizer.iterations += 1
        callbacks.on_epoch_begin(epoch)
        logs = {"loss": float(intermediate_result.fun)}
        if model.metrics:
            predictions = plan.predictions(plan.outputs(x, False))
            logs.update(metric_logs(model.metrics, Y, predictions))
        end_epoch(model, epoch, logs, validation, callbacks)
        if model.stop_training or epoch == epochs[-1]:
            raise StopIteration

    if len(epochs) == 0:
        return
    result = minimize(
        loss_and_gradient,
        params.astype(np.float64),
        jac=True,
        method="L-BFGS-B",
        callback=after_iteration,
        options=optimizer.options(len(epochs)),
    )
    params[...] = result.x
    if not np.isfinite(params).all():
        raise NonFiniteError("L-BFGS produced non-finite weights; standardize the inputs.")

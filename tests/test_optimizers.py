"""Optimizers, checked step by step against their written formulas."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw import optimizers


def test_sgd_moves_by_minus_eta_times_gradient():
    w, g = np.array([1.0, -2.0]), np.array([1.0, 0.5])
    optimizers.SGD(learning_rate=0.5).apply_gradients(w, g)
    assert w.tolist() == [0.5, -2.25]  # w − η g with η = 0.5


def test_sgd_through_train_on_batch_matches_the_formula_for_three_steps(rng):
    model = mf.Sequential(
        [mf.layers.Dense(2, input_dim=3, activation="tanh"), mf.layers.Dense(1)],
        dtype="float64",
        seed=1,
    )
    model.compile(optimizers.SGD(learning_rate=0.25), "mse")
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    for _ in range(3):
        before = model.get_weights()
        _, grads = model.gradients(X, y)
        model.train_on_batch(X, y)
        for w_old, g, w_new in zip(before, grads, model.get_weights()):
            np.testing.assert_array_equal(w_new, w_old - 0.25 * g)
    assert model.optimizer.iterations == 3


def test_clipvalue_clips_each_entry():
    w, g = np.zeros(3), np.array([-5.0, 0.5, 5.0])
    optimizers.SGD(learning_rate=1.0, clipvalue=1.0).apply_gradients(w, g)
    assert w.tolist() == [1.0, -0.5, -1.0]


def test_clipnorm_rescales_each_parameter_array_on_its_own():
    w = np.zeros(4)
    g = np.array([3.0, 4.0, 0.3, 0.4])  # two arrays: norms 5 and 0.5
    optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients(
        w, g, [slice(0, 2), slice(2, 4)]
    )
    np.testing.assert_allclose(w, [-0.6, -0.8, -0.3, -0.4])


@pytest.mark.parametrize("learning_rate", [0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_learning_rate_must_be_a_positive_finite_number(learning_rate):
    with pytest.raises(ValueError, match="`learning_rate` must be a positive finite number"):
        optimizers.SGD(learning_rate=learning_rate)


def test_an_optimizer_with_state_refuses_a_second_model_of_another_size():
    adam = optimizers.Adam(learning_rate=0.1)
    w = np.zeros(3)
    adam.apply_gradients(w, np.ones(3))
    assert adam.iterations == 1
    state = {key: value.copy() for key, value in adam.state.items()}
    other = np.zeros(2)
    with pytest.raises(ValueError, match="holds state for another model's parameters"):
        adam.apply_gradients(other, np.ones(2))
    assert other.tolist() == [0.0, 0.0] and adam.iterations == 1  # nothing changed
    for key, value in adam.state.items():
        np.testing.assert_array_equal(value, state[key])


def test_plain_sgd_keeps_no_state_but_refuses_mismatched_vectors():
    sgd = optimizers.SGD(learning_rate=0.1)
    sgd.apply_gradients(np.zeros(3), np.zeros(3))
    sgd.apply_gradients(np.zeros(5), np.zeros(5))  # no state: another size is harmless
    with pytest.raises(ValueError, match="flat vectors of the same length"):
        sgd.apply_gradients(np.zeros(3), np.zeros(2))


def test_optimizer_names_resolve_and_unknown_ones_list_the_valid_names():
    assert isinstance(optimizers.get("SGD"), optimizers.SGD)
    with pytest.raises(ValueError, match="Unknown optimizer 'sgdd'. Expected one of: .*'sgd'"):
        optimizers.get("sgdd")
    with pytest.raises(TypeError, match="optimizer name"):
        optimizers.get(0.1)


# -- every optimizer against its written formula ----------------------------------


def flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def sgd_reference(lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    def step(w, g, s, t):
        g = g + weight_decay * w
        if momentum:
            s["b"] = momentum * s.get("b", 0.0) + g
            g = g + momentum * s["b"] if nesterov else s["b"]
        return w - lr * g

    return step


def adam_reference(lr, b1=0.9, b2=0.999, eps=1e-8, decoupled_decay=0.0):
    def step(w, g, s, t):
        w = w - lr * decoupled_decay * w
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat = s["m"] / (1 - b1**t)
        v_hat = s["v"] / (1 - b2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)

    return step


def rmsprop_reference(lr, rho=0.9, eps=1e-8, momentum=0.0):
    def step(w, g, s, t):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        direction = g / (np.sqrt(s["v"]) + eps)
        if momentum:
            s["b"] = momentum * s.get("b", 0.0) + direction
            direction = s["b"]
        return w - lr * direction

    return step


def adagrad_reference(lr, eps=1e-10):
    def step(w, g, s, t):
        s["sum"] = s.get("sum", 0.0) + g * g
        return w - lr * g / (np.sqrt(s["sum"]) + eps)

    return step


CASES = [
    (lambda: optimizers.SGD(0.1), sgd_reference(0.1)),
    (lambda: optimizers.SGD(0.1, momentum=0.9), sgd_reference(0.1, 0.9)),
    (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True), sgd_reference(0.1, 0.9, True)),
    (
        lambda: optimizers.SGD(0.1, momentum=0.5, weight_decay=0.01),
        sgd_reference(0.1, 0.5, weight_decay=0.01),
    ),
    (lambda: optimizers.Adam(0.01), adam_reference(0.01)),
    (
        lambda: optimizers.Adam(0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-6),
        adam_reference(0.02, 0.5, 0.9, 1e-6),
    ),
    (lambda: optimizers.AdamW(0.01, weight_decay=0.1), adam_reference(0.01, decoupled_decay=0.1)),
    (lambda: optimizers.RMSprop(0.01), rmsprop_reference(0.01)),
    (
        lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.9),
        rmsprop_reference(0.01, 0.8, 1e-8, 0.9),
    ),
    (lambda: optimizers.Adagrad(0.1), adagrad_reference(0.1)),
]


def small_model(optimizer, seed=0):
    model = mf.Sequential(
        [mf.layers.Dense(3, input_dim=2, activation="tanh"), mf.layers.Dense(1)],
        dtype="float64",
        seed=seed,
    )
    model.compile(optimizer, "mse")
    return model


@pytest.mark.parametrize(
    ("make", "reference"), CASES, ids=[repr(make()) + str(i) for i, (make, _) in enumerate(CASES)]
)
def test_three_steps_match_the_written_formula(make, reference, rng):
    optimizer = make()
    model = small_model(optimizer)
    X, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    w, state = flat(model.get_weights()), {}
    for t in (1, 2, 3):
        _, grads = model.gradients(X, y)
        w = reference(w, flat(grads), state, t)
        model.train_on_batch(X, y)
        np.testing.assert_allclose(flat(model.get_weights()), w, rtol=1e-13, atol=1e-15)
    assert optimizer.iterations == 3


def test_a_schedule_sets_the_learning_rate_of_each_step(rng):
    schedule = mf.schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.5)
    model = small_model(optimizers.SGD(schedule))
    X, y = rng.normal(size=(4, 2)), rng.normal(size=4)
    for t in range(3):
        before = flat(model.get_weights())
        _, grads = model.gradients(X, y)
        model.train_on_batch(X, y)
        np.testing.assert_allclose(
            flat(model.get_weights()), before - 0.5 * 0.5**t * flat(grads), rtol=1e-13
        )


def test_schedules_follow_their_formulas():
    exp = mf.schedules.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [exp(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    assert mf.schedules.ExponentialDecay(1.0, 10, 0.5)(5) == pytest.approx(0.5**0.5)
    step = mf.schedules.StepDecay(0.1, step_size=2, gamma=0.5)
    assert [step(t) for t in range(5)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    cosine = mf.schedules.CosineDecay(1.0, decay_steps=4, alpha=0.1)
    assert cosine(0) == 1.0 and cosine(2) == pytest.approx(0.55) and cosine(9) == pytest.approx(0.1)
    sgd = optimizers.SGD(lambda t: 0.5 / (t + 1))
    w = np.zeros(1)
    for _ in range(2):
        sgd.apply_gradients(w, np.ones(1))
    assert w.tolist() == [-0.75]  # 0.5 then 0.25
    bad = optimizers.SGD(lambda t: -1.0)
    with pytest.raises(ValueError, match=r"learning_rate\(0\)` must be a positive"):
        bad.apply_gradients(np.zeros(1), np.ones(1))


def test_clipping_happens_before_momentum_and_decay(rng):
    model = small_model(optimizers.SGD(0.1, momentum=0.9, clipvalue=0.05))
    X, y = rng.normal(size=(4, 2)), 10 * rng.normal(size=4)
    reference, w, state = sgd_reference(0.1, 0.9), flat(model.get_weights()), {}
    for t in (1, 2):
        _, grads = model.gradients(X, y)
        w = reference(w, np.clip(flat(grads), -0.05, 0.05), state, t)
        model.train_on_batch(X, y)
    np.testing.assert_allclose(flat(model.get_weights()), w, rtol=1e-13)


OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.1),
    "adam": lambda: optimizers.Adam(0.01),
    "adamw": lambda: optimizers.AdamW(0.01),
    "rmsprop": lambda: optimizers.RMSprop(0.01),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "lbfgs": optimizers.LBFGS,
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_lowers_the_loss_on_regression_and_classification(name, rng):
    X = rng.normal(size=(64, 3))
    y_reg = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=64)
    y_cls = (X[:, 0] + X[:, 1] > 0).astype(float)
    for y, head, loss in ((y_reg, None, "mse"), (y_cls, "sigmoid", "binary_crossentropy")):
        model = mf.Sequential(
            [mf.layers.Dense(8, activation="tanh"), mf.layers.Dense(1, activation=head)],
            dtype="float64",
            seed=2,
        )
        model.compile(OPTIMIZERS[name](), loss)
        before = model.evaluate(X, y)
        model.fit(X, y, epochs=30, batch_size=16, verbose=0)
        assert model.evaluate(X, y) < 0.7 * before, (name, loss)


def test_lbfgs_beats_sgd_for_the_same_number_of_gradient_evaluations(rng):
    X = rng.normal(size=(50, 3))
    y = np.sin(X @ np.array([1.0, -1.0, 0.5]))
    lbfgs = mf.Sequential(
        [mf.layers.Dense(10, activation="tanh"), mf.layers.Dense(1)], dtype="float64", seed=0
    )
    lbfgs.compile(optimizers.LBFGS(), "mse")
    lbfgs.fit(X, y, epochs=40, verbose=0)
    evaluations = lbfgs.optimizer.evaluations
    sgd = mf.Sequential(
        [mf.layers.Dense(10, activation="tanh"), mf.layers.Dense(1)], dtype="float64", seed=0
    )
    sgd.compile(optimizers.SGD(0.1), "mse")
    sgd.fit(X, y, epochs=evaluations, batch_size=len(X), verbose=0)  # one gradient per epoch
    assert lbfgs.evaluate(X, y) < 0.5 * sgd.evaluate(X, y)


def test_lbfgs_stops_cleanly_at_convergence(rng):
    X = rng.normal(size=(30, 2))
    y = X @ np.array([2.0, -1.0]) + 0.5
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)], dtype="float64", seed=0)
    model.compile("lbfgs", "mse")
    history = model.fit(X, y, epochs=200, verbose=0)
    assert len(history.history["loss"]) < 50  # converged long before 200 iterations
    assert history.history["loss"][-1] < 1e-10
    np.testing.assert_allclose(model.get_weights()[0].ravel(), [2.0, -1.0], atol=1e-5)
    with pytest.raises(RuntimeError, match="LBFGS trains on the whole data set"):
        model.train_on_batch(X, y)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: optimizers.SGD(0.1, nesterov=True), "nesterov=True needs a momentum"),
        (lambda: optimizers.SGD(0.1, momentum=-0.5), "`momentum` must be a non-negative"),
        (lambda: optimizers.Adam(beta_1=1.0), r"`beta_1` must be in \[0, 1\)"),
        (lambda: optimizers.RMSprop(rho=1.5), r"`rho` must be in \[0, 1\)"),
        (lambda: optimizers.Adagrad(epsilon=0), "`epsilon` must be a positive"),
        (lambda: optimizers.SGD(0.1, clipnorm=-1), "`clipnorm` must be a positive"),
    ],
)
def test_bad_optimizer_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()

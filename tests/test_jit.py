"""The compiled engine (``jit_compile=True``): the NumPy engine's numbers, step for step.

Both engines run the same formulas (activations' ``function``/``slope``, losses'
``entry``, optimizers' ``rule``), so after an epoch from the same weights they agree to
round-off: 1e-10 in float64, 1e-5 in float32 (relative to each array's largest entry).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import minifw as mf

numba = pytest.importorskip("numba", reason="numba is not installed: pip install minifw[fast]")

from scipy import special  # noqa: E402

from minifw.jit import codegen  # noqa: E402


def data(rows=2000, features=8, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    y = np.sin(X[:, :outputs] * 2) + 0.1 * X[:, 1:2] ** 2
    return X, y


def network(dtype="float64", hidden="relu", last=None, dropout=0.0, seed=3, outputs=1):
    layers = [mf.layers.Dense(64, activation=hidden, input_shape=(8,))]
    if dropout:
        layers.append(mf.layers.Dropout(dropout))
    layers += [mf.layers.Dense(64, activation=hidden), mf.layers.Dense(outputs, activation=last)]
    return mf.Sequential(layers, dtype=dtype, seed=seed)


def both(make_model, optimizer, loss, X, y, epochs=1, per_execution="epoch", **fit):
    """The same model trained by both engines: (NumPy model, compiled model, histories)."""
    models, histories = [], []
    for jit in (False, True):
        model = make_model()
        model.compile(
            type(optimizer)(**optimizer.get_config()),  # a fresh one for each engine
            loss,
            jit_compile=jit,
            steps_per_execution=per_execution,
        )
        histories.append(model.fit(X, y, epochs=epochs, batch_size=32, verbose=0, **fit))
        models.append(model)
    return models[0], models[1], histories


def assert_same_weights(a, b, tolerance):
    """Each array equal to ``tolerance`` relative to its largest entry; a bias (one entry per
    unit) relative to its layer's kernel's: the output bias is a sum of ±η steps that
    nearly cancel, so its own size says nothing of the round-off in it."""
    weights = a.get_weights()
    for k, (left, right) in enumerate(zip(weights, b.get_weights())):
        scale = float(np.abs(left).max())
        if left.ndim == 1 and k:
            scale = max(scale, float(np.abs(weights[k - 1]).max()))
        assert float(np.abs(left - right).max()) <= tolerance * max(scale, 1e-300), k


OPTIMIZERS = [
    mf.optimizers.SGD(0.01),
    mf.optimizers.SGD(0.01, momentum=0.9),
    mf.optimizers.SGD(0.01, momentum=0.9, nesterov=True, weight_decay=1e-3),
    mf.optimizers.Adam(1e-3),
    mf.optimizers.AdamW(1e-3, weight_decay=0.05),
    mf.optimizers.RMSprop(1e-3),
    mf.optimizers.RMSprop(1e-3, momentum=0.5),
    mf.optimizers.Adagrad(0.05),
    mf.optimizers.Adam(1e-2, clipnorm=0.05),
    mf.optimizers.SGD(0.05, clipvalue=0.01),
    mf.optimizers.Adam(mf.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.9)),
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-10), ("float32", 1e-5)])
def test_one_epoch_equals_the_numpy_engine(optimizer, dtype, tolerance):
    X, y = data()
    numpy_model, compiled, histories = both(lambda: network(dtype), optimizer, "mse", X, y)
    assert_same_weights(numpy_model, compiled, tolerance)
    assert histories[1].history["loss"][0] == pytest.approx(
        histories[0].history["loss"][0], rel=tolerance
    )
    assert compiled.optimizer.iterations == numpy_model.optimizer.iterations == 63


@pytest.mark.parametrize(
    "hidden", ["relu", "tanh", "sigmoid", "elu", "leaky_relu", "gelu", "softplus", "silu"]
)
def test_every_elementwise_activation_compiles_to_the_same_numbers(hidden):
    X, y = data(rows=500)
    a, b, _ = both(lambda: network(hidden=hidden), mf.optimizers.Adam(1e-3), "mse", X, y)
    assert_same_weights(a, b, 1e-10)


def test_gelus_approximate_form_and_leaky_alpha_reach_the_compiled_formulas():
    X, y = data(rows=300)

    def make():
        return mf.Sequential(
            [
                mf.layers.Dense(16, activation=mf.layers.GELU(approximate=True), input_shape=(8,)),
                mf.layers.Dense(16, activation=mf.layers.LeakyReLU(alpha=0.7)),
                mf.layers.Dense(1),
            ],
            dtype="float64",
            seed=1,
        )

    a, b, _ = both(make, mf.optimizers.SGD(0.05), "mse", X, y)
    assert_same_weights(a, b, 1e-10)


@pytest.mark.parametrize(
    "loss, last, target",
    [
        ("categorical_crossentropy", "softmax", "one-hot"),
        ("sparse_categorical_crossentropy", "softmax", "classes"),
        (mf.losses.SparseCategoricalCrossEntropy(from_logits=True), None, "classes"),
        (mf.losses.CategoricalCrossEntropy(from_logits=True, reduction="sum"), None, "one-hot"),
        ("mae", None, "real"),
        (mf.losses.HuberLoss(delta=0.3), None, "real"),
        ("half_squared_error", None, "real"),
        (mf.losses.MSELoss(reduction="sum"), None, "real"),
        ("poisson", "exponential", "counts"),
        ("binary_crossentropy", "sigmoid", "labels"),
        (mf.losses.BinaryCrossEntropy(from_logits=True), None, "labels"),
    ],
)
def test_every_entrywise_loss_compiles_to_the_same_numbers(loss, last, target):
    X, y = data(rows=600)
    if target == "counts":
        y = np.random.default_rng(1).poisson(np.exp(0.3 * X[:, :1]))
    elif target == "labels":
        y = (X[:, :1] + X[:, 1:2] > 0).astype(float)
    elif target in ("classes", "one-hot"):
        y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.7, 0.0, 0.7])
        y = np.eye(4)[y] if target == "one-hot" else y
    outputs = 4 if target in ("classes", "one-hot") else 1
    a, b, hist = both(
        lambda: network(last=last, outputs=outputs), mf.optimizers.SGD(0.01), loss, X, y
    )
    assert_same_weights(a, b, 1e-10)
    assert hist[1].history["loss"] == pytest.approx(hist[0].history["loss"], rel=1e-10)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_float32_classifiers_compile(loss):
    X, _ = data(rows=640)
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    y = np.eye(3)[y] if loss == "categorical_crossentropy" else y
    a, b, _ = both(
        lambda: network("float32", last="softmax", outputs=3), mf.optimizers.SGD(0.05), loss, X, y
    )
    assert_same_weights(a, b, 1e-5)


def test_sample_and_class_weights_weigh_the_same_rows():
    X, y = data(rows=700)
    weights = np.random.default_rng(2).uniform(0, 3, len(X))
    weights[:40] = 0
    a, b, hist = both(
        lambda: network(), mf.optimizers.Adam(1e-3), "mse", X, y, sample_weight=weights
    )
    assert_same_weights(a, b, 1e-10)
    labels = (X[:, 0] > 0.5).astype(float)
    a, b, _ = both(
        lambda: network(last="sigmoid"),
        mf.optimizers.Adam(1e-3),
        "binary_crossentropy",
        X,
        labels,
        class_weight={0: 1.0, 1: 4.0},
    )
    assert_same_weights(a, b, 1e-10)


def test_dropout_draws_the_same_masks_and_several_epochs_shuffle_alike():
    X, y = data(rows=800)
    a, b, hist = both(lambda: network(dropout=0.3), mf.optimizers.Adam(1e-3), "mse", X, y, 3)
    assert_same_weights(a, b, 1e-10)
    assert hist[1].history["loss"] == pytest.approx(hist[0].history["loss"], rel=1e-10)


@pytest.mark.parametrize("per_execution", [1, 3, 7, "epoch"])
def test_steps_per_execution_changes_nothing_but_the_calls(per_execution):
    X, y = data(rows=330)
    a, b, hist = both(
        lambda: network(), mf.optimizers.Adam(1e-3), "mse", X, y, 2, per_execution, shuffle=True
    )
    assert_same_weights(a, b, 1e-10)


def test_batch_hooks_run_once_per_execution_and_never_across_an_epochs_end():
    X, y = data(rows=320)  # 10 batches of 32

    class Hooks(mf.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_batch_begin(self, batch, logs=None):
            self.seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(("end", batch))

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append(("epoch", epoch))

    model = network()
    model.compile("adam", "mse", jit_compile=True, steps_per_execution=4)
    hooks = Hooks()
    model.fit(X, y, epochs=2, batch_size=32, verbose=0, callbacks=[hooks])
    one_epoch = [(kind, b) for b in (0, 4, 8) for kind in ("begin", "end")]
    assert hooks.seen == one_epoch + [("epoch", 0)] + one_epoch + [("epoch", 1)]
    assert model.optimizer.iterations == 20


def test_metrics_and_validation_are_computed_as_on_the_numpy_engine():
    X, y = data(rows=400)
    labels = (X[:, 0] > 0).astype(float)
    a, b, hist = both(
        lambda: network(last="sigmoid"),
        mf.optimizers.Adam(1e-3),
        "binary_crossentropy",
        X,
        labels,
        2,
        validation_split=0.25,
    )
    for key in hist[0].history:
        assert hist[1].history[key] == pytest.approx(hist[0].history[key], rel=1e-9), key
        assert all(type(value) is float for value in hist[1].history[key]), key


def test_the_lecture_under_jit_compile_matches_its_scalar_formulas_for_4000_steps():
    X, y = mf.datasets.salary()
    models = []
    for jit in (False, True):
        model = mf.Sequential(
            [mf.layers.Dense(2, input_dim=2, kernel_initializer="ones"),
             mf.layers.Dense(1, kernel_initializer="ones")],
            dtype="float64",
        )  # fmt: skip
        model.compile(mf.optimizers.SGD(1e-5), "mse", jit_compile=jit, steps_per_execution="epoch")
        model.fit(X, y, epochs=1000, batch_size=1, shuffle=False, verbose=0)
        models.append(model)
    # the lecture's own loop, scalar by scalar
    w1, b1, w2, b2 = np.ones((2, 2)), np.zeros(2), np.ones(2), 0.0
    for _ in range(1000):
        for (iq, gpa), salary in zip(X, y):
            o = np.array([iq * w1[0, j] + gpa * w1[1, j] + b1[j] for j in range(2)])
            y_hat = o @ w2 + b2
            delta = -2 * (salary - y_hat)
            g_w2, g_b2 = delta * o, delta
            g_o = delta * w2
            g_w1 = np.array([[iq * g_o[j] for j in range(2)], [gpa * g_o[j] for j in range(2)]])
            w1, b1, w2, b2 = w1 - 1e-5 * g_w1, b1 - 1e-5 * g_o, w2 - 1e-5 * g_w2, b2 - 1e-5 * g_b2
    expected = [w1, b1, w2.reshape(2, 1), np.array([b2])]
    for model in models:
        for got, want in zip(model.get_weights(), expected):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_a_non_finite_step_restores_the_weights_of_the_executions_start():
    X, y = data(rows=320)
    model = network()
    model.compile(mf.optimizers.SGD(1e-3), "mse", jit_compile=True, steps_per_execution=5)
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    before = model.get_weights()
    iterations = model.optimizer.iterations
    huge = y.copy()
    huge[100:] *= 1e200  # batches 1–3 train, batch 4 (rows 96–127) overflows
    with pytest.raises(mf.errors.NonFiniteError, match=r"epoch 1, batch 4;"):
        model.fit(X, huge, epochs=1, batch_size=32, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == iterations


@pytest.mark.parametrize(
    "layers, loss, optimizer, named",
    [
        ([mf.layers.Dense(4, input_shape=(3,)), mf.layers.BatchNormalization()], "mse", "sgd",
         "BatchNormalization"),
        ([mf.layers.Dense(4, input_shape=(3,), activation="softmax")], "mse", "sgd",
         "Softmax"),
        ([mf.layers.Conv2D(2, 3, input_shape=(5, 5, 1)), mf.layers.Flatten()], "mse", "sgd",
         "Conv2D"),
        ([mf.layers.Dense(4, input_shape=(3,), kernel_regularizer="l2")], "mse", "sgd",
         "regularizer"),
        ([mf.layers.Dense(4, input_shape=(3,))], "mse", "lbfgs", "LBFGS"),
        ([mf.layers.Activation("tanh", input_shape=(3,))], "mse", "sgd", "no Dense"),
    ],
)  # fmt: skip
def test_compile_refuses_what_it_cannot_compile_naming_it_and_changes_nothing(
    layers, loss, optimizer, named
):
    model = mf.Sequential(layers)
    model.compile("adam", "mae")
    with pytest.raises(ValueError, match=named):
        model.compile(optimizer, loss, jit_compile=True)
    assert isinstance(model.optimizer, mf.optimizers.Adam)
    assert isinstance(model.loss, mf.losses.MAELoss) and model.jit_compile is False
    model.compile(optimizer, loss, jit_compile="auto")  # falls back to the NumPy engine
    assert model.jit_compile is False


def test_bad_engine_arguments_are_refused():
    model = network()
    with pytest.raises(ValueError, match="jit_compile"):
        model.compile("adam", "mse", jit_compile="yes")
    with pytest.raises((ValueError, TypeError), match="steps_per_execution"):
        model.compile("adam", "mse", jit_compile=True, steps_per_execution=0)


def test_a_batch_source_is_refused_with_jit_compile_true():
    X, y = data(rows=64)
    model = network()
    model.compile("adam", "mse", jit_compile=True)
    with pytest.raises(ValueError, match="arrays"):
        model.fit(iter([(X[:32], y[:32])]), epochs=1, verbose=0)


def test_without_numba_jit_compile_true_names_the_extra_and_auto_falls_back():
    script = (
        "import sys; sys.modules['numba'] = None\n"
        "import minifw as mf\n"
        "m = mf.Sequential([mf.layers.Dense(1, input_shape=(2,))])\n"
        "m.compile('sgd', 'mse', jit_compile='auto'); assert m.jit_compile is False\n"
        "try:\n"
        "    m.compile('sgd', 'mse', jit_compile=True)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "minifw[fast]" in out.stdout, out.stderr


@pytest.mark.parametrize("x", [-1000.0, -30.0, -1.5, 0.0, 0.25, 3.0, 40.0, 1000.0])
def test_the_numba_primitives_equal_scipy(x):
    from minifw.jit import primitives  # noqa: F401

    for function in (special.expit, special.log_expit, special.erf):
        compiled = numba.njit(lambda v, f=function: f(v))
        assert compiled(x) == pytest.approx(float(function(x)), rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-13)])
def test_the_compiled_product_equals_numpys_for_each_order_of_its_operands(dtype, rtol):
    """``product`` through NumPy's BLAS (``blas.gemm``) and through numba's np.dot (no gemm),
    for C-ordered operands and for transposed views (F-ordered), as the steps call it."""
    from minifw.jit import blas
    from minifw.jit.primitives import product

    gemm = blas.gemm(dtype)
    if gemm is None:
        pytest.skip("NumPy's BLAS exports no cblas_?gemm64_ here: the compiled steps use np.dot")

    @numba.njit
    def multiply(gemm, a, b, out):
        product(gemm, a, b, out)

    rng = np.random.default_rng(3)
    a = rng.standard_normal((7, 5)).astype(dtype)
    b = rng.standard_normal((5, 4)).astype(dtype)
    for left, right in [(a, b), (a.T.copy().T, b), (a, b.T.copy().T), (a.T.copy().T, b.T.copy().T)]:
        for function in (gemm, None):
            out = np.full((7, 4), np.nan, dtype=dtype)
            multiply(function, left, right, out)
            np.testing.assert_allclose(out, left @ right, rtol=rtol, atol=rtol * 10)
    assert blas.gemm(np.int32) is None


def test_a_changed_formula_compiles_anew(tmp_path, monkeypatch):
    """The generated module's name hashes the formulas' sources, so numba's cache (which
    does not look into called functions) never serves a stale formula."""
    monkeypatch.setenv("MINIFW_CACHE_DIR", str(tmp_path))
    layout = codegen.Layout(
        (codegen.DenseStep((0, 2, 1), 2), codegen.ActivationStep(mf.layers.Tanh)),
        2, mf.losses.MSELoss, mf.optimizers.SGD, (False,), 4,
    )  # fmt: skip
    other = codegen.Layout(
        (codegen.DenseStep((0, 2, 1), 2), codegen.ActivationStep(mf.layers.Sigmoid)),
        2, mf.losses.MSELoss, mf.optimizers.SGD, (False,), 4,
    )  # fmt: skip
    codegen.load(layout), codegen.load(other)
    assert len(list(tmp_path.glob("minifw_steps_*.py"))) == 2


class Nothing(mf.callbacks.Callback):
    """A callback that looks at each epoch's end: fit then runs one epoch per call."""

    def on_epoch_end(self, epoch, logs=None):
        self.last = epoch


def test_several_epochs_in_one_call_when_nothing_looks_between_them():
    """Without callbacks, validation or metrics a compiled fit runs many epochs per call;
    the weights and the History are those of one epoch per call."""
    X, y = data(rows=200)
    fits = []
    for callbacks in ([], [Nothing()]):
        model = network(dropout=0.2)
        model.compile(
            mf.optimizers.Adam(mf.schedules.ExponentialDecay(1e-2, 7, 0.9)),
            "mse", jit_compile=True, steps_per_execution="epoch",
        )  # fmt: skip
        history = model.fit(X, y, epochs=12, batch_size=32, verbose=0, callbacks=callbacks)
        fits.append((model, history))
    (a, first), (b, second) = fits
    assert_same_weights(a, b, 1e-12)
    assert first.history["loss"] == pytest.approx(second.history["loss"], rel=1e-12)
    assert first.epoch == second.epoch == list(range(12))


def test_a_non_finite_step_among_epochs_in_one_call_stops_where_epoch_by_epoch_stops():
    X, y = data(rows=200)
    outcomes = []
    for callbacks in ([], [Nothing()]):
        model = network()
        growing = mf.schedules.ExponentialDecay(1e-3, decay_steps=1, decay_rate=1.5)
        model.compile(mf.optimizers.SGD(growing), "mse", jit_compile=True)
        with pytest.raises(mf.errors.NonFiniteError) as raised:
            model.fit(X, y, epochs=40, batch_size=32, verbose=0, callbacks=callbacks)
        outcomes.append((str(raised.value), model.get_weights(), len(model.history.epoch)))
    assert outcomes[0][0] == outcomes[1][0]
    assert outcomes[0][2] == outcomes[1][2] > 0
    for left, right in zip(outcomes[0][1], outcomes[1][1]):
        np.testing.assert_array_equal(left, right)


def test_save_load_and_resume_on_the_compiled_engine(tmp_path):
    """Trained compiled, saved, loaded (compiled again: its compile settings are saved)
    and trained on: the same weights as one uninterrupted compiled fit."""
    X, y = data(rows=300)
    whole = network(dropout=0.1)
    whole.compile(mf.optimizers.Adam(1e-2), "mse", jit_compile=True, steps_per_execution=3)
    whole.fit(X, y, epochs=4, batch_size=32, verbose=0)
    half = network(dropout=0.1)
    half.compile(mf.optimizers.Adam(1e-2), "mse", jit_compile=True, steps_per_execution=3)
    half.fit(X, y, epochs=2, batch_size=32, verbose=0)
    half.save(tmp_path / "half.minifw")
    loaded = mf.load_model(tmp_path / "half.minifw")
    assert loaded.jit_compile is True and loaded.steps_per_execution == 3
    loaded.fit(X, y, epochs=2, batch_size=32, verbose=0)
    assert_same_weights(whole, loaded, 1e-12)
    copied = half.copy()
    assert copied.jit_compile is True


def test_one_step_per_execution_stops_where_the_numpy_engine_stops():
    """A non-finite step is refused before its update: with one step per execution the
    weights are those after the last finite step, as the NumPy engine leaves them."""
    X, y = data(rows=320)
    huge = y.copy()
    huge[100:] *= 1e200  # batches 1–3 train, batch 4 (rows 96–127) overflows
    weights = []
    for jit in (True, False):
        model = network()
        model.compile(mf.optimizers.SGD(1e-3), "mse", jit_compile=jit, steps_per_execution=1)
        with pytest.raises(mf.errors.NonFiniteError, match=r"epoch 1, batch 4;"):
            model.fit(X, huge, epochs=1, batch_size=32, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    for compiled, numpy_engine in zip(*weights):
        np.testing.assert_allclose(compiled, numpy_engine, rtol=1e-10, atol=1e-12)

"""SimpleRNN, LSTM and GRU against an independent NumPy reference written from the
equations, one sample and one step at a time; Keras's layouts; bad input."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw.layers import GRU, LSTM, SimpleRNN


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference(layer, x, mask=None):
    """The layer's outputs, sample by sample and step by step, from its equations; a step
    that ``mask`` (n, T) marks False leaves h and c as they were and repeats the output."""
    W, U, b = (layer.params[key] for key in ("W", "U", "b"))
    u = layer.units
    outputs = []
    mask = np.ones(x.shape[:2], dtype=bool) if mask is None else mask
    for sample, kept in zip(x, mask):
        steps = zip(sample[::-1], kept[::-1]) if layer.go_backwards else zip(sample, kept)
        h, c, hs = np.zeros(u), np.zeros(u), []
        for x_t, present in steps:
            if not present:
                pass
            elif isinstance(layer, SimpleRNN):
                h = np.tanh(x_t @ W + h @ U + b)
            elif isinstance(layer, LSTM):
                z = x_t @ W + h @ U + b
                i, f = sigmoid(z[:u]), sigmoid(z[u : 2 * u])
                g, o = np.tanh(z[2 * u : 3 * u]), sigmoid(z[3 * u :])
                c = f * c + i * g
                h = o * np.tanh(c)
            else:  # GRU, reset_after: b[0] input biases, b[1] recurrent biases
                xz, hz = x_t @ W + b[0], h @ U + b[1]
                z = sigmoid(xz[:u] + hz[:u])
                r = sigmoid(xz[u : 2 * u] + hz[u : 2 * u])
                candidate = np.tanh(xz[2 * u :] + r * hz[2 * u :])
                h = z * h + (1 - z) * candidate
            hs.append(h)
        outputs.append(np.array(hs) if layer.return_sequences else h)
    return np.array(outputs)


CASES = [
    (cls, options)
    for cls in (SimpleRNN, LSTM, GRU)
    for options in (
        {},
        {"return_sequences": True},
        {"go_backwards": True},
        {"return_sequences": True, "go_backwards": True},
    )
]


@pytest.mark.parametrize(("cls", "options"), CASES)
def test_forward_equals_the_equations_and_gradients_central_differences(cls, options):
    rng = np.random.default_rng(len(options) + 7 * cls.gates)
    n, steps, features, units = rng.integers(2, 5), rng.integers(1, 6), rng.integers(1, 4), 3
    x = rng.normal(size=(n, steps, features))
    layer = cls(units, **options, bias_initializer="random_normal")
    layer.build(x.shape, rng)
    np.testing.assert_allclose(layer.forward(x), reference(layer, x), rtol=1e-12, atol=1e-13)
    errors = mf.gradcheck(layer, x)
    assert set(errors) == {"input", "W", "U", "b"}
    assert max(errors.values()) < 1e-6, errors


class MaskSource:
    """What a recurrent layer reads its input's mask from (an Embedding, in a model)."""

    def __init__(self, mask):
        self.output_mask = mask


@pytest.mark.parametrize(("cls", "options"), CASES)
def test_masked_steps_carry_the_state_and_output_over(cls, options):
    rng = np.random.default_rng(3 + len(options) + 5 * cls.gates)
    n, steps, features = 4, 6, 2
    x = rng.normal(size=(n, steps, features))
    mask = np.array(
        [[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 1], [0, 0, 0, 0, 0, 0]],
        dtype=bool,
    )  # padding after, before, between; and a sequence of padding only
    layer = cls(3, **options, bias_initializer="random_normal")
    layer.build(x.shape, rng)
    layer.mask_from = MaskSource(mask)
    out = layer.forward(x)
    np.testing.assert_allclose(out, reference(layer, x, mask), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(out[3], 0)  # nothing but padding: h_0 = 0 throughout
    if layer.return_sequences:  # the mask goes on, in the outputs' order
        order = mask[:, ::-1] if layer.go_backwards else mask
        np.testing.assert_array_equal(layer.output_mask, order)
    errors = mf.gradcheck(layer, x)
    assert max(errors.values()) < 1e-6, errors


def test_embedding_mask_zero_makes_padding_invisible_to_stacked_recurrent_layers():
    """Padded with 0 before, after or between, a sequence gives what it gives alone."""

    def tagged(steps):
        return mf.Sequential(
            [
                mf.layers.Embedding(9, 4, mask_zero=True, input_length=steps),
                LSTM(5, return_sequences=True),
                mf.layers.Dense(3, activation="tanh"),  # keeps the mask
                GRU(3),
                mf.layers.Dense(1),
            ],
            dtype="float64",
            seed=2,
        )

    short, model = tagged(3), tagged(5)
    short.build()
    model.build()
    model.set_weights(short.get_weights())
    alone = short.predict(np.array([[3, 5, 7]]))
    for padded in ([3, 5, 7, 0, 0], [0, 0, 3, 5, 7], [3, 0, 5, 7, 0], [0, 3, 0, 5, 7]):
        np.testing.assert_allclose(model.predict(np.array([padded])), alone, rtol=1e-12)
    model.compile("adam", "mse")
    ids = np.array([[3, 5, 7, 0, 0], [0, 1, 2, 8, 6], [4, 0, 0, 0, 0]])
    errors = mf.gradcheck(model, ids, np.array([0.5, -1.0, 2.0]))
    assert max(errors.values()) < 1e-6, errors


def test_masks_pass_through_step_by_step_layers_and_end_at_any_other():
    from minifw.layers.base import connect_masks

    embedding = mf.layers.Embedding(5, 2, mask_zero=True)
    first, dense, second, last = (
        LSTM(2, return_sequences=True), mf.layers.Dense(2), SimpleRNN(2), GRU(2)
    )
    connect_masks([embedding, first, dense, second, last])
    assert first.mask_from is embedding and second.mask_from is first
    assert last.mask_from is None  # SimpleRNN without return_sequences ends the mask
    connect_masks([mf.layers.Embedding(5, 2), first])
    assert first.mask_from is None  # an Embedding without mask_zero makes no mask


def test_a_masked_model_refuses_onnx_export(tmp_path):
    pytest.importorskip("onnx")
    model = mf.Sequential([mf.layers.Embedding(9, 4, mask_zero=True, input_length=3), GRU(2)])
    model.build()
    with pytest.raises(ValueError, match="mask_zero"):
        model.export(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_keras_layouts_and_starting_values():
    x = np.zeros((2, 4, 5))
    lstm, gru, rnn = LSTM(3), GRU(3), SimpleRNN(3)
    for layer in (lstm, gru, rnn):
        layer.build(x.shape, np.random.default_rng(0))
    assert [w.shape for w in lstm.get_weights()] == [(5, 12), (3, 12), (12,)]
    assert [w.shape for w in gru.get_weights()] == [(5, 9), (3, 9), (2, 9)]
    assert [w.shape for w in rnn.get_weights()] == [(5, 3), (3, 3), (3,)]
    np.testing.assert_array_equal(lstm.params["b"], np.repeat([0.0, 1.0, 0.0, 0.0], 3))
    U = rnn.params["U"]
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-12)  # orthogonal recurrent kernel
    assert LSTM(3, return_sequences=True).compute_output_shape((None, 4, 5)) == (None, 4, 3)


@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (3, 12), (2, 3, 8)])
def test_the_orthogonal_initializer(shape):
    init = mf.initializers.Orthogonal(gain=2.0)
    q = init(shape, np.random.default_rng(0)).reshape(-1, shape[-1])
    assert q.flags.c_contiguous
    small = min(q.shape)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)
    again = init(shape, np.random.default_rng(0)).reshape(q.shape)
    np.testing.assert_array_equal(q, again)
    assert mf.initializers.get("orthogonal").get_config() == {"gain": 1.0}


def sequences(n=600, steps=12, seed=0):
    """Sign of a running sum: y = 1 when Σ x_t > 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, steps, 1))
    return X, (X.sum(axis=(1, 2)) > 0).astype(float)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_a_model_learns_a_sequence_task_and_saves_and_loads(cls, tmp_path, capsys):
    X, y = sequences()
    model = mf.Sequential([cls(8, input_shape=(12, 1)), mf.layers.Dense(1, activation="sigmoid")],
                          seed=1)  # fmt: skip
    model.compile(mf.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    model.fit(X[:500], y[:500], epochs=25, batch_size=32, verbose=0)
    assert model.evaluate(X[500:], y[500:], verbose=0)[1] >= 0.9  # [loss, accuracy]
    model.save(tmp_path / "m.minifw")
    loaded = mf.load_model(tmp_path / "m.minifw")
    np.testing.assert_allclose(loaded.predict(X[:20]), model.predict(X[:20]), rtol=1e-6)
    model.summary()
    assert cls.__name__ in capsys.readouterr().out


def test_bad_input_is_refused_with_the_expected_shape_named():
    model = mf.Sequential([LSTM(4), mf.layers.Dense(1)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match=r"\(n, timesteps, features\).*X\[\.\.\., None\]"):
        model.fit(np.zeros((10, 5)), np.zeros(10), verbose=0)
    with pytest.raises(ValueError, match=r"shape \(10, 0, 2\)"):
        model.fit(np.zeros((10, 0, 2)), np.zeros(10), verbose=0)
    with pytest.raises(ValueError, match="positive sizes"):  # T = 0
        LSTM(2).build((None, 0, 3))
    built = mf.Sequential([GRU(4, input_shape=(5, 2)), mf.layers.Dense(1)])
    built.compile("adam", "mse")
    with pytest.raises(ValueError, match=r"\(n, 5, 2\)"):
        built.fit(np.zeros((10, 5, 3)), np.zeros(10), verbose=0)
    with pytest.raises(ValueError, match="reset_after"):
        GRU(3, reset_after=False)
    with pytest.raises(ValueError, match="timesteps, features"):
        LSTM(3, input_shape=(4,))
    with pytest.raises(TypeError, match="return_sequences"):
        SimpleRNN(3, return_sequences="yes")


def test_the_compiled_engine_and_fit_many_refuse_a_recurrent_layer_by_name():
    pytest.importorskip("numba")
    model = mf.Sequential([LSTM(4, input_shape=(3, 2)), mf.layers.Dense(1)])
    with pytest.raises(ValueError, match="LSTM"):
        model.compile("adam", "mse", jit_compile=True)


def test_embedding_gathers_rows_and_adds_the_gradients_of_repeated_ids():
    rng = np.random.default_rng(3)
    layer = mf.layers.Embedding(6, 4)
    layer.build((None, 5), rng)
    E = layer.params["embeddings"]
    ids = np.array([[1, 1, 5, 0, 1], [5, 2, 2, 1, 3]])
    np.testing.assert_array_equal(layer.forward(ids), E[ids])
    grad_output = rng.normal(size=(2, 5, 4))
    back = layer.backward(grad_output)
    expected = np.zeros_like(E)
    np.add.at(expected, ids.reshape(-1), grad_output.reshape(-1, 4))
    np.testing.assert_allclose(layer.grads["embeddings"], expected, rtol=1e-14)
    assert back.shape == ids.shape and not back.any()  # ids are not differentiable
    layer.forward(np.array([[4, 4, 4, 4, 4], [4, 4, 4, 4, 4]]))
    layer.backward(np.ones((2, 5, 4)))
    grads = layer.grads["embeddings"]
    np.testing.assert_array_equal(grads[4], np.full(4, 10.0))
    assert not np.delete(grads, 4, axis=0).any()  # the last batch's rows set back to 0


@pytest.mark.parametrize(
    ("ids", "named"),
    [
        (np.array([[0.0, 6.0]]), r"\[0, 6\).*6\.0.*\(0, 1\)"),
        (np.array([[-1, 2]]), r"-1"),
        (np.array([[0.5, 2.0]]), r"integer ids.*0\.5"),
        (np.array([[np.nan, 2.0]]), r"integer ids.*nan"),
    ],
)
def test_embedding_refuses_ids_out_of_range_or_not_whole(ids, named):
    layer = mf.layers.Embedding(6, 2)
    layer.build((None, 2))
    with pytest.raises(ValueError, match=named):
        layer.forward(ids)
    with pytest.raises(TypeError, match="mask_zero"):
        mf.layers.Embedding(6, 2, mask_zero="yes")


def test_embedding_then_lstm_learns_which_token_came_first(tmp_path):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 20, size=(800, 10))
    y = (ids[:, 0] < 10).astype(float)  # remembered over ten steps
    model = mf.Sequential(
        [
            mf.layers.Embedding(20, 8, input_length=10),
            mf.layers.LSTM(16, go_backwards=True),
            mf.layers.Dense(1),
        ],
        seed=0,
    )
    model.compile(mf.optimizers.Adam(0.01), mf.losses.BinaryCrossEntropy(from_logits=True),
                  metrics=["accuracy"])  # fmt: skip
    model.fit(ids[:600], y[:600], epochs=15, batch_size=32, verbose=0)
    assert model.evaluate(ids[600:], y[600:], verbose=0)[1] >= 0.95
    model.save(tmp_path / "m.minifw")
    loaded = mf.load_model(tmp_path / "m.minifw")
    np.testing.assert_allclose(loaded.predict(ids[:8]), model.predict(ids[:8]), rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 20\)"):
        model.predict(ids[:2] + 20)
    bad = ids.copy()
    bad[-1, 3] = 20  # in the last batch: refused before the first step
    before, steps = model.get_weights(), model.optimizer.iterations
    with pytest.raises(ValueError, match=r"\[0, 20\).*\(799, 3\)"):
        model.fit(bad, y, epochs=1, batch_size=32, verbose=0)
    assert model.optimizer.iterations == steps
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_a_model_for_sequences_of_any_length_equals_fixed_length_models(tmp_path):
    """input_shape=(None, features): one model trains and predicts on any length, as a
    model built for that length with the same weights does; saved and loaded so."""
    rng = np.random.default_rng(5)

    def model(steps):
        return mf.Sequential(
            [LSTM(4, input_shape=(steps, 2), return_sequences=True), mf.layers.Dense(3),
             GRU(2)],
            dtype="float64", seed=4,
        )  # fmt: skip

    free = model(None)
    free.build()
    assert free.input_shape == (None, None, 2) and free.output_shape == (None, 2)
    for steps in (1, 4, 9):
        fixed = model(steps)
        fixed.build()
        fixed.set_weights(free.get_weights())
        X = rng.normal(size=(3, steps, 2))
        np.testing.assert_allclose(free.predict(X), fixed.predict(X), rtol=1e-13)
    free.compile("adam", "mse")
    for steps in (3, 7):  # one fit per length
        free.fit(rng.normal(size=(8, steps, 2)), rng.normal(size=(8, 2)), verbose=0)
    free.save(tmp_path / "free.minifw")
    loaded = mf.load_model(tmp_path / "free.minifw")
    X = rng.normal(size=(2, 11, 2))
    np.testing.assert_array_equal(loaded.predict(X), free.predict(X))
    with pytest.raises(ValueError, match=r"X of shape \(n, None, 2\)"):
        free.predict(rng.normal(size=(2, 5, 3)))


def test_ids_of_any_length_with_sequence_outputs():
    model = mf.Sequential(
        [mf.layers.Embedding(7, 3, input_shape=(None,), mask_zero=True),
         SimpleRNN(4, return_sequences=True), mf.layers.Dense(2, activation="softmax")],
        seed=0,
    )  # fmt: skip
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(np.array([[1, 2, 0], [3, 4, 5]]), np.array([[0, 1, 1], [1, 0, 0]]),
                        epochs=2, verbose=0)  # fmt: skip
    assert len(history.history["accuracy"]) == 2
    assert model.predict(np.array([[1, 2, 3, 4, 5, 6]])).shape == (1, 6, 2)


def test_a_fixed_shape_layer_after_sequences_of_any_length_is_refused_naming_the_fix():
    model = mf.Sequential(
        [LSTM(4, input_shape=(None, 2), return_sequences=True), mf.layers.Flatten(),
         mf.layers.Dense(1)]
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"Flatten needs inputs of a fixed shape.*\(T, features\)"):
        model.build()

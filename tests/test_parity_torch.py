"""Parity with PyTorch, when it is installed: forward values, gradients, optimizer trajectories.

Optional: skipped unless ``torch`` can be imported (it is not a dependency).
"""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf

torch = pytest.importorskip("torch")
F = torch.nn.functional


def grad_of(fn, x: np.ndarray, upstream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tensor = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(tensor)
    out.backward(torch.tensor(upstream))
    return out.detach().numpy(), tensor.grad.numpy()


ACTIVATIONS = [
    (mf.layers.ReLU(), F.relu),
    (mf.layers.LeakyReLU(0.01), lambda t: F.leaky_relu(t, 0.01)),
    (mf.layers.Sigmoid(), torch.sigmoid),
    (mf.layers.Tanh(), torch.tanh),
    (mf.layers.Softmax(), lambda t: F.softmax(t, dim=-1)),
    (mf.layers.ELU(0.7), lambda t: F.elu(t, 0.7)),
    (mf.layers.GELU(), F.gelu),
    (mf.layers.GELU(approximate=True), lambda t: F.gelu(t, approximate="tanh")),
    (mf.layers.Softplus(), F.softplus),
    (mf.layers.SiLU(), F.silu),
]


@pytest.mark.parametrize(("layer", "reference"), ACTIVATIONS, ids=lambda v: repr(v)[:30])
def test_activations_match_torch(layer, reference, rng):
    x = rng.normal(size=(5, 4)) * 3
    G = rng.normal(size=x.shape)
    expected_out, expected_grad = grad_of(reference, x, G)
    np.testing.assert_allclose(layer(x), expected_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.backward(G), expected_grad, rtol=1e-10, atol=1e-14)


def torch_loss(name, y_true, logits_or_pred):
    y = torch.tensor(y_true)
    return {
        "mse": lambda p: F.mse_loss(p, y),
        "mae": lambda p: F.l1_loss(p, y),
        "huber": lambda p: F.huber_loss(p, y, delta=0.5),
        "bce": lambda p: F.binary_cross_entropy(p, y),
        "bce_logits": lambda p: F.binary_cross_entropy_with_logits(p, y),
        "cce_logits": lambda p: F.cross_entropy(p, y),
        "scce_logits": lambda p: F.cross_entropy(p, y.long()),
    }[name]


LOSSES = [
    ("mse", mf.losses.MSELoss()),
    ("mae", mf.losses.MAELoss()),
    ("huber", mf.losses.HuberLoss(delta=0.5)),
    ("bce", mf.losses.BinaryCrossEntropy()),
    ("bce_logits", mf.losses.BinaryCrossEntropy(from_logits=True)),
    ("cce_logits", mf.losses.CategoricalCrossEntropy(from_logits=True)),
    ("scce_logits", mf.losses.SparseCategoricalCrossEntropy(from_logits=True)),
]


@pytest.mark.parametrize(("name", "loss"), LOSSES, ids=[name for name, _ in LOSSES])
def test_losses_match_torch(name, loss, rng):
    n, k = 6, 3
    if name == "scce_logits":
        y_true = rng.integers(0, k, size=n).astype(np.float64)
    elif name == "cce_logits":
        y_true = rng.dirichlet(np.ones(k), size=n)  # probability targets
    elif name.startswith("bce"):
        y_true = rng.uniform(size=(n, k))
    else:
        y_true = rng.normal(size=(n, k))
    y_pred = rng.uniform(0.05, 0.95, size=(n, k)) if name == "bce" else rng.normal(size=(n, k))
    value, grad = grad_of(torch_loss(name, y_true, y_pred), y_pred, np.array(1.0))
    assert loss(y_true, y_pred) == pytest.approx(float(value), rel=1e-12)
    np.testing.assert_allclose(loss.backward(y_true, y_pred), grad, rtol=1e-10, atol=1e-15)


def test_batch_and_layer_normalization_match_torch_in_training(rng):
    x = rng.normal(size=(8, 5)) * 2 + 1
    G = rng.normal(size=x.shape)
    for ours, theirs in (
        (mf.layers.BatchNormalization(epsilon=1e-5), torch.nn.BatchNorm1d(5, eps=1e-5)),
        (mf.layers.LayerNormalization(epsilon=1e-5), torch.nn.LayerNorm(5, eps=1e-5)),
    ):
        theirs = theirs.double().train()
        expected_out, expected_grad = grad_of(theirs, x, G)
        np.testing.assert_allclose(ours(x, training=True), expected_out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.backward(G), expected_grad, rtol=1e-9, atol=1e-12)


OPTIMIZERS = [
    (
        lambda: mf.optimizers.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    (lambda: mf.optimizers.Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (
        lambda: mf.optimizers.AdamW(0.01, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    ),
    (
        lambda: mf.optimizers.RMSprop(0.01, rho=0.9, momentum=0.5),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5),
    ),
    (lambda: mf.optimizers.Adagrad(0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    OPTIMIZERS,
    ids=[type(o()).__name__ + str(i) for i, (o, _) in enumerate(OPTIMIZERS)],
)
def test_optimizer_trajectories_match_torch(ours, theirs, rng):
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    model = mf.Sequential(
        [mf.layers.Dense(4, input_dim=3, activation="tanh"), mf.layers.Dense(1)],
        dtype="float64",
        seed=0,
    )
    model.compile(ours(), "mse")
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)
    ).double()
    with torch.no_grad():
        W1, b1, W2, b2 = model.get_weights()
        for param, value in zip(net.parameters(), (W1.T, b1, W2.T, b2)):
            param.copy_(torch.tensor(value))
    optimizer = theirs(net.parameters())
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(5):
        model.train_on_batch(X, y)
        optimizer.zero_grad()
        F.mse_loss(net(Xt), yt).backward()
        optimizer.step()
    expected = [p.detach().numpy() for p in net.parameters()]
    W1, b1, W2, b2 = model.get_weights()
    for got, want in zip((W1.T, b1, W2.T, b2), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_the_lecture_trajectory_matches_torch():
    X, y = mf.datasets.salary()
    model = mf.Sequential(
        [
            mf.layers.Dense(2, input_dim=2, kernel_initializer="ones"),
            mf.layers.Dense(1, kernel_initializer="ones"),
        ],
        dtype="float64",
    )
    model.compile(mf.optimizers.SGD(1e-5), "mse")
    model.fit(X, y, epochs=20, batch_size=1, shuffle=False, verbose=0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)).double()
    with torch.no_grad():
        for layer in net:
            layer.weight.fill_(1.0)
            layer.bias.zero_()
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-5)
    for _ in range(20):
        for row in range(4):
            optimizer.zero_grad()
            F.mse_loss(
                net(torch.tensor(X[row : row + 1])), torch.tensor(y[row : row + 1, None])
            ).backward()
            optimizer.step()
    theirs = [
        array
        for layer in net
        for array in (layer.weight.detach().numpy().T, layer.bias.detach().numpy())
    ]
    for ours, reference in zip(model.get_weights(), theirs, strict=True):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-15)


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)


def keras_pads(size, kernel, stride, dilation):
    """Keras's "same" padding for one axis: (before, after), the extra cell after."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "padding"),
    [(3, 1, 1, "valid"), (2, 2, 1, "same"), ((3, 2), (2, 1), (1, 2), "same"), (5, 1, 2, "same")],
)
def test_conv2d_matches_torch_forward_and_gradients(kernel, stride, dilation, padding, rng):
    x = rng.normal(size=(2, 9, 8, 3))
    layer = mf.layers.Conv2D(4, kernel, strides=stride, padding=padding, dilation_rate=dilation)
    out = layer(x)
    G = rng.normal(size=out.shape)
    dx = layer.backward(G)
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    xt = nchw(x)
    padded = xt
    if padding == "same":
        top, bottom = keras_pads(9, kh, sh, dh)
        left, right = keras_pads(8, kw, sw, dw)
        padded = F.pad(xt, (left, right, top, bottom))
    weight = torch.tensor(layer.params["W"].transpose(3, 2, 0, 1).copy(), requires_grad=True)
    bias = torch.tensor(layer.params["b"].copy(), requires_grad=True)
    theirs = F.conv2d(padded, weight, bias, stride=(sh, sw), dilation=(dh, dw))
    np.testing.assert_allclose(out, theirs.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-10)
    theirs.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        layer.grads["W"], weight.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(layer.grads["b"], bias.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    ("kind", "pool", "stride", "padding"),
    [
        ("max", 2, None, "valid"),
        ("max", 3, 2, "valid"),
        ("max", 2, 1, "valid"),
        ("avg", 2, None, "valid"),
        ("avg", 3, 2, "valid"),
    ],
)
def test_pooling_matches_torch_forward_and_gradients(kind, pool, stride, padding, rng):
    x = rng.normal(size=(2, 7, 6, 3))
    cls = mf.layers.MaxPooling2D if kind == "max" else mf.layers.AveragePooling2D
    layer = cls(pool, strides=stride, padding=padding)
    out = layer(x)
    G = rng.normal(size=out.shape)
    dx = layer.backward(G)
    xt = nchw(x)
    function = F.max_pool2d if kind == "max" else F.avg_pool2d
    theirs = function(xt, pool, stride=stride or pool)
    np.testing.assert_allclose(out, theirs.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12)
    theirs.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-14)


def test_same_average_pooling_matches_torch_without_counting_the_padding(rng):
    x = rng.normal(size=(1, 5, 5, 2))
    out = mf.layers.AveragePooling2D(3, strides=2, padding="same")(x)
    theirs = F.avg_pool2d(nchw(x), 3, stride=2, padding=1, count_include_pad=False)
    np.testing.assert_allclose(out, theirs.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12)


# -- sequences ------------------------------------------------------------------------


def torch_recurrent(layer):
    """The torch module holding ``layer``'s weights: PyTorch keeps W and U transposed,
    one bias per side, and orders the GRU's gates r, z, n (Keras z, r, h)."""
    W, U, b = (layer.params[key] for key in ("W", "U", "b"))
    features, units = W.shape[0], layer.units
    kind = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
    module = kind[type(layer).__name__](features, units, batch_first=True).double()
    if type(layer).__name__ == "GRU":
        order = np.r_[units : 2 * units, 0:units, 2 * units : 3 * units]  # z, r, h → r, z, n
        W, U, b_in, b_rec = W[:, order], U[:, order], b[0][order], b[1][order]
    else:
        b_in, b_rec = b, np.zeros_like(b)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(W.T))
        module.weight_hh_l0.copy_(torch.tensor(U.T))
        module.bias_ih_l0.copy_(torch.tensor(b_in))
        module.bias_hh_l0.copy_(torch.tensor(b_rec))
    return module


@pytest.mark.parametrize("cls", [mf.layers.SimpleRNN, mf.layers.LSTM, mf.layers.GRU])
@pytest.mark.parametrize("sequences", [False, True])
def test_recurrent_layers_match_torch(cls, sequences, rng):
    x = rng.normal(size=(4, 6, 3))
    layer = cls(5, return_sequences=sequences, bias_initializer="random_normal")
    layer.build(x.shape, rng)
    module = torch_recurrent(layer)
    xt = torch.tensor(x, requires_grad=True)
    outputs, _ = module(xt)
    reference = outputs if sequences else outputs[:, -1]
    ours = layer.forward(x)
    np.testing.assert_allclose(ours, reference.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.normal(size=ours.shape)
    reference.backward(torch.tensor(upstream))
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    ours_dU = layer.grads["U"]
    if cls is mf.layers.GRU:
        order = np.r_[5:10, 0:5, 10:15]
        ours_dU = ours_dU[:, order]
    np.testing.assert_allclose(ours_dU.T, module.weight_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_five_adam_steps_of_embedding_gru_dense_match_a_torch_loop(rng):
    ids = rng.integers(0, 12, size=(16, 7))
    y = rng.normal(size=(16, 1))
    model = mf.Sequential(
        [mf.layers.Embedding(12, 4, input_length=7), mf.layers.GRU(5), mf.layers.Dense(1)],
        dtype="float64", seed=0,
    )  # fmt: skip
    model.compile(mf.optimizers.Adam(0.01), "mse")
    model.build()
    E, (gru, dense) = model.layers[0].params["embeddings"], model.layers[1:]
    embedding = torch.nn.Embedding(12, 4).double()
    with torch.no_grad():
        embedding.weight.copy_(torch.tensor(E))
    module = torch_recurrent(gru)
    linear = torch.nn.Linear(5, 1).double()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(dense.params["W"].T))
        linear.bias.copy_(torch.tensor(dense.params["b"]))
    parameters = [*embedding.parameters(), *module.parameters(), *linear.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=0.01)
    for _ in range(5):
        model.train_on_batch(ids, y)
        optimizer.zero_grad()
        outputs, _ = module(embedding(torch.tensor(ids)))
        F.mse_loss(linear(outputs[:, -1]), torch.tensor(y)).backward()
        optimizer.step()
    np.testing.assert_allclose(
        model.layers[0].params["embeddings"],
        embedding.weight.detach().numpy(),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        dense.params["W"].T, linear.weight.detach().numpy(), rtol=1e-9, atol=1e-12
    )
    order = np.r_[5:10, 0:5, 10:15]
    np.testing.assert_allclose(
        gru.params["U"][:, order].T, module.weight_hh_l0.detach().numpy(), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("cls", [mf.layers.SimpleRNN, mf.layers.LSTM, mf.layers.GRU])
def test_padding_masked_with_mask_zero_matches_torchs_packed_sequences(cls, rng):
    """Post-padded ids with mask_zero=True: the last h (the state carried over the padding)
    and its gradients equal PyTorch's on packed sequences of the true lengths."""
    lengths = np.array([6, 3, 1, 4])
    ids = rng.integers(1, 9, size=(4, 6))
    ids[np.arange(6) >= lengths[:, None]] = 0
    model = mf.Sequential(
        [mf.layers.Embedding(9, 3, mask_zero=True, input_length=6),
         cls(5, bias_initializer="random_normal")],
        dtype="float64", seed=1,
    )  # fmt: skip
    model.build()
    embedding, layer = model.layers
    vectors = model.layers[0].params["embeddings"][ids]
    module = torch_recurrent(layer)
    xt = torch.tensor(vectors, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False
    )
    _, state = module(packed)
    last = (state[0] if cls is mf.layers.LSTM else state)[0]
    ours = model.predict(ids)
    np.testing.assert_allclose(ours, last.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.normal(size=ours.shape)
    last.backward(torch.tensor(upstream))
    layer.forward(embedding.forward(ids))  # the mask from the Embedding (linked by predict)
    grad_x = layer.backward(upstream)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    ours_dU = layer.grads["U"]
    if cls is mf.layers.GRU:
        ours_dU = ours_dU[:, np.r_[5:10, 0:5, 10:15]]
    np.testing.assert_allclose(ours_dU.T, module.weight_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_explained_normalization_gradients_match_torch(kind, rng):
    """mf.explain's ∂L/∂w, ∂L/∂γ, ∂L/∂β through Dense → normalization → tanh → Dense
    equal torch's autograd on the same weights (training mode, MSE)."""
    X, y = rng.normal(size=(6, 3)), rng.normal(size=6)
    norm = (mf.layers.BatchNormalization if kind == "batch" else mf.layers.LayerNormalization)(
        epsilon=1e-5
    )
    model = mf.Sequential(
        [mf.layers.Dense(4, input_dim=3), norm, mf.layers.Tanh(), mf.layers.Dense(1)],
        dtype="float64", seed=5,
    )  # fmt: skip
    model.compile("sgd", "mse")
    step = mf.explain(model, X, y)
    W1, b1, gamma, beta, *rest = model.get_weights()
    W2, b2 = rest[-2:]
    tensors = [torch.tensor(a, requires_grad=True) for a in (W1, b1, gamma, beta, W2, b2)]
    w1, c1, g, b, w2, c2 = tensors
    net = torch.tensor(X) @ w1 + c1
    if kind == "batch":
        mean, var = net.mean(0, keepdim=True), net.var(0, unbiased=False, keepdim=True)
    else:
        mean, var = net.mean(1, keepdim=True), net.var(1, unbiased=False, keepdim=True)
    out = torch.tanh((net - mean) / torch.sqrt(var + 1e-5) * g + b) @ w2 + c2
    F.mse_loss(out[:, 0], torch.tensor(y)).backward()
    ours = [step.grads[i] for i in (0, 1, 2, 3)] + step.grads[-2:]
    for mine, theirs in zip(ours, tensors):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)

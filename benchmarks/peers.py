"""The peers minifw is compared with, when installed: PyTorch CPU and scikit-learn's MLP.

Each ``make(w, X, y, epochs)`` returns a function that trains the workload's
network for ``epochs`` epochs (or None when the peer cannot run it), with
the same architecture, loss, optimizer, batch size and shuffling.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable

import numpy as np

from benchmarks.workloads import Workload


def torch_run(w: Workload, X: np.ndarray, y: np.ndarray, epochs: int) -> Callable | None:
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    dtype = torch.float64 if w.dtype == "float64" else torch.float32
    layers: list = []
    for i, (a, b) in enumerate(zip(w.sizes, w.sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(w.sizes) - 2 and w.hidden == "relu":
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(dtype)
    if w.ones:
        with torch.no_grad():
            for p in net.parameters():
                p.fill_(1.0) if p.ndim == 2 else p.zero_()
    optimizer = {
        "sgd": lambda: torch.optim.SGD(net.parameters(), lr=w.learning_rate),
        "momentum": lambda: torch.optim.SGD(net.parameters(), lr=w.learning_rate, momentum=0.9),
        "adam": lambda: torch.optim.Adam(net.parameters(), lr=w.learning_rate),
    }[w.optimizer]()
    Xt = torch.from_numpy(np.ascontiguousarray(X)).to(dtype)
    if w.loss == "mse":
        Yt = torch.from_numpy(np.asarray(y).reshape(len(y), -1)).to(dtype)
        loss_fn = torch.nn.functional.mse_loss
    else:
        Yt = torch.from_numpy(np.asarray(y)).long()
        loss_fn = torch.nn.functional.cross_entropy

    def run() -> None:
        for _ in range(epochs):
            order = torch.randperm(len(Xt)) if w.shuffle else None
            for start in range(0, len(Xt), w.batch):
                rows = (
                    slice(start, start + w.batch)
                    if order is None
                    else (order[start : start + w.batch])
                )
                optimizer.zero_grad()
                loss_fn(net(Xt[rows]), Yt[rows]).backward()
                optimizer.step()

    return run


def torch_epoch(net, optimizer, loss_fn, X, Y, batch: int) -> Callable[[], None]:
    """One shuffled epoch of minibatch steps in PyTorch (``X``, ``Y`` tensors): the loop of
    the W5 and W6 peers."""
    import torch

    def run() -> None:
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch):
            rows = order[start : start + batch]
            optimizer.zero_grad()
            loss_fn(net(X[rows]), Y[rows]).backward()
            optimizer.step()

    return run


def sklearn_run(w: Workload, X: np.ndarray, y: np.ndarray, epochs: int) -> Callable | None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    options = dict(
        hidden_layer_sizes=w.sizes[1:-1],
        activation="relu" if w.hidden == "relu" else "identity",
        solver="adam" if w.optimizer == "adam" else "sgd",
        batch_size=w.batch,
        learning_rate_init=w.learning_rate,
        momentum=0.9 if w.optimizer == "momentum" else 0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        shuffle=w.shuffle,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
    )
    if w.loss == "softmax_ce":
        model, target = MLPClassifier(**options), y
    else:
        model, target = MLPRegressor(**options), np.asarray(y)
    X64 = X.astype(np.float64) if w.dtype == "float64" else X

    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X64, target)

    return run


def available() -> dict[str, Callable]:
    """The peers whose packages are installed."""
    found = {}
    if importlib.util.find_spec("torch"):
        found["torch"] = torch_run
    if importlib.util.find_spec("sklearn"):
        found["sklearn"] = sklearn_run
    return found

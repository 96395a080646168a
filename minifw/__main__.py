"""``python -m minifw demo`` (or ``minifw demo``): the lecture's example end to end.

1. The first step on row 1, written out as the lecture works it.
2. Per-row SGD on the raw table (η = 1e-5, as in the lecture).
3. The same network on standardized inputs, where a larger η is stable.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from . import datasets, explain, layers, optimizers
from .model import Sequential

_REPORTED_EPOCHS = (1, 2, 5, 10, 50, 100, 500, 1000, 2000, 5000)


def lecture_model(learning_rate: float) -> Sequential:
    """The 2-2-1 network: linear hidden units, every weight 1, every bias 0, float64."""
    model = Sequential(
        [
            layers.Dense(2, input_dim=2, kernel_initializer="ones", bias_initializer="zeros"),
            layers.Linear(),
            layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros"),
        ],
        dtype="float64",
        seed=0,
    )
    model.compile(optimizer=optimizers.SGD(learning_rate=learning_rate), loss="mse")
    return model


def _train(title, X, y, learning_rate, epochs, table):
    """Fit the lecture model on (X, y); print losses, weights and predictions per ``table`` row."""
    print(f"\n{title}: per-row SGD, η = {learning_rate:g}, {epochs} epochs")
    model = lecture_model(learning_rate)
    history = model.fit(X, y, epochs=epochs, batch_size=1, shuffle=False, verbose=0)
    for epoch in _REPORTED_EPOCHS:
        if epoch <= epochs:
            print(f"  epoch {epoch:>5}: mean loss {history.history['loss'][epoch - 1]:.6g}")
    W1, b1, W2, b2 = model.get_weights()
    print("  final weights:")
    print(f"    w^1_11 = {W1[0, 0]:.6g}  w^1_21 = {W1[1, 0]:.6g}  b_11 = {b1[0]:.6g}")
    print(f"    w^1_12 = {W1[0, 1]:.6g}  w^1_22 = {W1[1, 1]:.6g}  b_12 = {b1[1]:.6g}")
    print(f"    w^2_11 = {W2[0, 0]:.6g}  w^2_21 = {W2[1, 0]:.6g}  b_21 = {b2[0]:.6g}")
    print("  predictions vs targets:")
    for (iq, gpa), target, predicted in zip(table, y, model.predict(X)[:, 0]):
        print(f"    IQ {iq:>3g}, GPA {gpa:<4g} ŷ = {predicted:7.3f}   y = {target:g}")
    return history


def demo(epochs: int = 1000, plot: str | None = None, html: str | None = None) -> None:
    X, y = datasets.salary()
    print("The lecture's table (IQ, GPA -> Salary):")
    for (iq, gpa), salary in zip(X, y):
        print(f"  {iq:>4g} {gpa:>5g} {salary:>5g}")
    print("\nFirst step on row 1, every weight 1 and every bias 0:")
    step = explain(lecture_model(1e-5), X[0], y[0])
    print("\n".join("  " + line for line in str(step).splitlines()))
    if html:
        with open(html, "w", encoding="utf-8") as page:
            page.write(step.to_html())
        print(f"\nThe first step as a page (network, chain of w^1_11, write-up): {html}")

    raw = _train("Raw features", X, y, 1e-5, epochs, X)
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    scaled = _train("Standardized features (x − mean) / std", standardized, y, 1e-3, epochs, X)
    # With linear hidden units the network is a linear function of x, so the
    # least-squares plane is the lowest loss any choice of weights can reach.
    design = np.column_stack([X, np.ones(len(X))])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    print(
        f"\nLowest mean loss any 2-2-1 linear network can reach (least squares): "
        f"{np.mean(residual**2):.6g};\nper-row SGD with a fixed η settles near it, not on it."
    )
    if plot:
        _plot({"raw, η = 1e-5": raw, "standardized, η = 1e-3": scaled}, plot)


def _plot(histories: dict, path: str) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(
            "\n--plot: History.plot needs matplotlib: pip install 'minifw[plot]' "
            "(or pip install matplotlib).",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    axes = Figure(figsize=(7, 4)).subplots()
    for label, history in histories.items():
        history.plot(ax=axes, label=label)
    axes.set(
        xscale="log",
        yscale="log",
        ylabel="mean loss (MSE)",
        title="2-2-1 network on the lecture's table",
    )
    axes.figure.savefig(path, dpi=120)
    print(f"\nLoss curves saved to {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="minifw", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="the lecture's 2-2-1 example end to end")
    demo_parser.add_argument("--epochs", type=int, default=1000, help="epochs per run")
    demo_parser.add_argument("--plot", metavar="FILE", help="save the loss curves as a PNG")
    demo_parser.add_argument(
        "--html", metavar="FILE", help="write the first step as a self-contained HTML page"
    )
    arguments = parser.parse_args(argv)
    if arguments.epochs < 1:
        parser.error("--epochs must be at least 1")
    try:
        demo(epochs=arguments.epochs, plot=arguments.plot, html=arguments.html)
    except BrokenPipeError:  # the reader stopped early, as in `minifw demo | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()

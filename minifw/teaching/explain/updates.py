"""An optimizer's update of one weight, written out with its state and its numbers:

    SGD, momentum μ:  v ← μ·v + g = 0.9·0 + 174 = 174;  w ← w − η·v = 1 − 0.01·174 = −0.74
    Adam:             m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,
                      m̂ = m / (1 − β₁^t),  v̂ = v / (1 − β₂^t),  w ← w − η·m̂ / (√v̂ + ε)

as each optimizer's docstring and ``rule`` (``minifw.optimizers``) define it; g is
∂L/∂w (plus λ·w with SGD's weight decay), the state's values before and after come
from the optimizer itself, and the last number of each line is what the step
computed. Plain SGD is the lecture's w ← w − η·∂L/∂w (``text.update_lines``). An
optimizer without a writer here is written as w ← old with ∂L/∂w = g gives new.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["WRITERS", "update_text"]


def _sgd(u, step, s) -> list[str]:
    config, g, eta = step.optimizer_config, u.gradient, step.learning_rate
    state = {name: (before, after) for name, before, after in u.state}
    mu, decay = config.get("momentum", 0.0), config.get("weight_decay", 0.0)
    lines = []
    if decay:
        g = g + decay * u.old
        lines.append(
            f"g = {s.sym('∂L/∂' + u.symbol)} + {s.greek('lambda')}{s.times}{s.sym(u.symbol)} "
            f"= {s.term(u.gradient)} + {s.num(decay)}{s.times}{s.term(u.old)} = {s.num(g)}"
        )
    if "velocity" not in state:
        return lines + [_step(u, s, eta, "g", g)]
    before, after = state["velocity"]
    lines.append(
        f"v {s.arrow} {s.greek('mu')}{s.times}v + g = {s.num(mu)}{s.times}{s.term(before)} + "
        f"{s.term(g)} = {s.num(after)}"
    )
    if config.get("nesterov"):
        return lines + [
            f"{s.sym(u.symbol)} {s.arrow} {s.sym(u.symbol)} {s.minus} {s.greek('eta')}{s.times}"
            f"(g + {s.greek('mu')}{s.times}v) = {s.num(u.old)} {s.minus} {s.num(eta)}{s.times}"
            f"({s.term(g)} + {s.num(mu)}{s.times}{s.term(after)}) = {s.num(u.new)}"
        ]
    return lines + [_step(u, s, eta, "v", after)]


def _step(u, s, eta, name: str, value: float) -> str:
    """w ← w − η·name = old − η·value = new."""
    w = s.sym(u.symbol)
    return (
        f"{w} {s.arrow} {w} {s.minus} {s.greek('eta')}{s.times}{name} = {s.num(u.old)} "
        f"{s.minus} {s.num(eta)}{s.times}{s.term(value)} = {s.num(u.new)}"
    )


def _adam(u, step, s) -> list[str]:
    config, g, eta, t = step.optimizer_config, u.gradient, step.learning_rate, step.step_number
    state = {name: (before, after) for name, before, after in u.state}
    b1, b2, eps = config["beta_1"], config["beta_2"], config["epsilon"]
    (m0, m1), (v0, v1) = state["m"], state["v"]
    m_hat, v_hat = m1 / (1 - b1**t), v1 / (1 - b2**t)
    w, decay = s.sym(u.symbol), config.get("weight_decay", 0.0)
    lines = [
        f"m {s.arrow} {s.greek('beta_1')}{s.times}m + (1 {s.minus} {s.greek('beta_1')}){s.times}g"
        f" = {s.num(b1)}{s.times}{s.term(m0)} + {s.num(1 - b1)}{s.times}{s.term(g)} = {s.num(m1)}",
        f"v {s.arrow} {s.greek('beta_2')}{s.times}v + (1 {s.minus} {s.greek('beta_2')}){s.times}"
        f"{s.squared('g')} = {s.num(b2)}{s.times}{s.term(v0)} + {s.num(1 - b2)}{s.times}"
        f"{s.squared(s.term(g))} = {s.num(v1)}",
        f"{s.greek('m_hat')} = m / (1 {s.minus} {s.power(s.greek('beta_1'), 't')}) = "
        f"{s.term(m1)} / (1 {s.minus} {s.power(s.num(b1), s.num(t))}) = {s.num(m_hat)}",
        f"{s.greek('v_hat')} = v / (1 {s.minus} {s.power(s.greek('beta_2'), 't')}) = "
        f"{s.term(v1)} / (1 {s.minus} {s.power(s.num(b2), s.num(t))}) = {s.num(v_hat)}",
    ]
    old = u.old
    if decay:  # AdamW: first w ← w − η·λ·w
        shrunk = old * (1 - eta * decay)
        lines.append(
            f"{w} {s.arrow} {w} {s.minus} {s.greek('eta')}{s.times}{s.greek('lambda')}{s.times}"
            f"{w} = {s.num(old)} {s.minus} {s.num(eta)}{s.times}{s.num(decay)}{s.times}"
            f"{s.term(old)} = {s.num(shrunk)}"
        )
        old = shrunk
    top, under = (s.greek("m_hat"), m_hat), (s.greek("v_hat"), v_hat)
    return lines + [_divided_step(u, s, eta, old, top, under, eps)]


def _rmsprop(u, step, s) -> list[str]:
    config, g, eta = step.optimizer_config, u.gradient, step.learning_rate
    state = {name: (before, after) for name, before, after in u.state}
    rho, eps, mu = config["rho"], config["epsilon"], config.get("momentum", 0.0)
    v0, v1 = state["v"]
    lines = [
        f"v {s.arrow} {s.greek('rho')}{s.times}v + (1 {s.minus} {s.greek('rho')}){s.times}"
        f"{s.squared('g')} = {s.num(rho)}{s.times}{s.term(v0)} + {s.num(1 - rho)}{s.times}"
        f"{s.squared(s.term(g))} = {s.num(v1)}"
    ]
    if "velocity" in state:
        b0, b1 = state["velocity"]
        lines.append(
            f"b {s.arrow} {s.greek('mu')}{s.times}b + g / ({s.root('v')} + "
            f"{s.greek('epsilon')}) = {s.num(mu)}{s.times}{s.term(b0)} + {s.term(g)} / "
            f"({s.root(s.num(v1))} + {s.num(eps)}) = {s.num(b1)}"
        )
        return lines + [_step(u, s, eta, "b", b1)]
    return lines + [_divided_step(u, s, eta, u.old, ("g", g), ("v", v1), eps)]


def _adagrad(u, step, s) -> list[str]:
    config, g, eta = step.optimizer_config, u.gradient, step.learning_rate
    state = {name: (before, after) for name, before, after in u.state}
    s0, s1 = state["sum"]
    return [
        f"s {s.arrow} s + {s.squared('g')} = {s.term(s0)} + {s.squared(s.term(g))} = {s.num(s1)}",
        _divided_step(u, s, eta, u.old, ("g", g), ("s", s1), config["epsilon"]),
    ]


def _divided_step(u, s, eta, old, top, under, epsilon) -> str:
    """w ← w − η·top / (√under + ε), each of ``top`` and ``under`` a (symbol, value)."""
    w = s.sym(u.symbol)
    return (
        f"{w} {s.arrow} {w} {s.minus} {s.greek('eta')}{s.times}{top[0]} / "
        f"({s.root(under[0])} + {s.greek('epsilon')}) = {s.num(old)} {s.minus} "
        f"{s.num(eta)}{s.times}{s.term(top[1])} / ({s.root(s.num(under[1]))} + "
        f"{s.num(epsilon)}) = {s.num(u.new)}"
    )


#: The writer of each optimizer class's update, by class name.
WRITERS: dict[str, Callable] = {
    "SGD": _sgd,
    "Adam": _adam,
    "AdamW": _adam,
    "RMSprop": _rmsprop,
    "Adagrad": _adagrad,
}


def update_text(update, step, s) -> list[str] | None:
    """The lines of ``update`` (an ``Update`` of ``step``) in style ``s``, or None when
    the optimizer has no writer here or its state was not recorded."""
    writer = WRITERS.get(step.optimizer)
    config = getattr(step, "optimizer_config", None)
    if writer is None or config is None:
        return None
    holds_state = step.optimizer != "SGD" or config.get("momentum", 0.0)
    if holds_state and not update.state:
        return None
    return writer(update, step, s)

"""The source of a model layout's compiled training steps, written out and imported.

A ``Layout`` is what the compiled function depends on: the steps (Dense layers
with their places in the flat parameter vector, activations, Dropout), the loss
and the optimizer's classes and which state they hold. ``source`` writes one
function, ``run``, that trains the steps of one execution:

    for each step s:  gather the batch's rows of X (cast to the model's dtype)
                      forward:  Dense  A = X @ W + b;  activation  O = f(A) entry by
                                entry;  Dropout  O = X ⊙ M
                      loss:     ℓ, ∂ℓ/∂ŷ = loss.entry(y, ŷ) entry by entry (or the
                                loss's per_row on the batch), weighted
                      backward: the chain rule back to the first Dense, ∂L/∂W = Xᵀ G,
                                ∂L/∂b = Σ_rows G into the flat gradient vector
                      guard:    stop (returning s) if L or an entry of ∂L/∂w is not finite
                      update:   clip, then (w, d, state) ← optimizer.rule(...) and
                                w ← w − s · d, entry by entry

Every formula in it is a call of the class's own static method (``Tanh.function``,
``MSELoss.entry``, ``Adam.rule``, ``Optimizer.clip``) compiled with
``inline="always"``; the function itself only loops and multiplies matrices. The
file is named by a hash of its text and of those methods' sources, so a changed
formula compiles anew, and numba caches the compiled code beside it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..functional import row_max, row_sum, softmax_parts

__all__ = ["DenseStep", "ActivationStep", "DropoutStep", "Layout", "source", "load"]


@dataclass(frozen=True)
class DenseStep:
    """X @ W + b; W at ``kernel`` (start, rows, columns) of the flat vector, b at ``bias``."""

    kernel: tuple[int, int, int]
    bias: int | None


@dataclass(frozen=True)
class ActivationStep:
    """o = f(net) entry by entry; ``cls`` defines ``function`` and ``slope``."""

    cls: type


@dataclass(frozen=True)
class DropoutStep:
    """o = x ⊙ m, m = (u ≥ rate) / (1 − rate) from the draws u of the ``index``-th Dropout."""

    index: int


@dataclass(frozen=True)
class Layout:
    """What the compiled steps depend on (numbers that vary run to run are arguments)."""

    steps: tuple
    features: int
    loss: type
    optimizer: type
    #: Whether the optimizer holds each of its ``slots`` (SGD's velocity needs momentum).
    held: tuple[bool, ...]
    n_numbers: int


def _qualified(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


def _formula_sources(layout: Layout) -> str:
    """The source of every function the compiled function calls (numba's cache does not
    look into them): part of its file's name, so that a change compiles anew."""
    loss = layout.loss.entry if layout.loss.entry is not None else layout.loss.per_row
    parts = [inspect.getsource(loss), inspect.getsource(layout.optimizer.rule)]
    parts += [inspect.getsource(function) for function in (row_max, row_sum, softmax_parts)]
    # numba's forms of the library functions (read, not imported: that would import numba)
    parts.append(Path(__file__).with_name("primitives.py").read_text(encoding="utf-8"))
    parts += [
        inspect.getsource(method)
        for step in layout.steps
        if isinstance(step, ActivationStep)
        for method in (step.cls.function, step.cls.slope)
    ]
    return "\n".join(parts)


def source(layout: Layout) -> str:
    """The text of the module holding ``run`` for ``layout``."""
    classes = {layout.loss, layout.optimizer}
    classes.update(step.cls for step in layout.steps if isinstance(step, ActivationStep))
    imports = sorted({f"from {module} import {name}" for module, name in map(_qualified, classes)})
    by_entry = layout.loss.entry is not None
    loss_formula = "entry" if by_entry else "per_row"
    lines = [
        '"""Compiled training steps of one model layout, written by minifw.jit.codegen."""',
        "import math",
        "",
        "import numpy as np",
        "from numba import njit",
        "",
        "from minifw.jit.primitives import product  # and expit, log_expit, erf for numba",
        "from minifw.optimizers import FLUSH_EVERY, Optimizer, flush_subnormals",
        *imports,
        "",
        'formula = njit(inline="always", error_model="numpy")',
        "clip = formula(Optimizer.clip)",
        "flush = formula(flush_subnormals)",
        f"loss_formula = formula({layout.loss.__qualname__}.{loss_formula})",
        f"rule = formula({layout.optimizer.__qualname__}.rule)",
    ]
    activations = [step for step in layout.steps if isinstance(step, ActivationStep)]
    for k, step in enumerate(activations):
        name = step.cls.__qualname__
        lines += [f"f{k} = formula({name}.function)", f"slope{k} = formula({name}.slope)"]
    slots = [f"slot{k}" for k, present in enumerate(layout.held) if present]
    n_dropout = sum(isinstance(step, DropoutStep) for step in layout.steps)
    draws = [f"draws{k}" for k in range(n_dropout)]
    args = [
        "gemm", "X", "Y", "W", "order", "starts", "most", "numbers", "bounds", "clipnorm",
        "clipvalue", "tiny", "t0", "constants", "loss_constants", "share", "mean", "keep",
        "scales", "params", "grads", *slots, *draws, "losses", "outputs",
    ]  # fmt: skip
    # the width of each step's output (step 0: the input), for the buffers made once per call
    widths = [layout.features]
    for step in layout.steps:
        widths.append(step.kernel[2] if isinstance(step, DenseStep) else widths[-1])
    first_dense = next(i for i, step in enumerate(layout.steps) if isinstance(step, DenseStep))
    last = len(layout.steps)
    buffers = [
        f"    A{i} = np.empty((most, {width}), dtype=params.dtype)"
        for i, width in enumerate(widths)
    ]
    buffers += [
        f"    G{i} = np.empty((most, {widths[i]}), dtype=params.dtype)"
        for i in range(first_dense + 1, last + 1)
    ]
    buffers += [
        f"    M{i} = np.empty((most, {widths[i]}), dtype=params.dtype)"
        for i, step in enumerate(layout.steps, 1)
        if isinstance(step, DropoutStep)
    ]
    body = [
        "",
        "",
        '@njit(cache=True, error_model="numpy", nogil=True)',
        f"def run({', '.join(args)}):",
        *buffers,
        "    t = t0",
        "    for s in range(len(starts) - 1):",
        "        begin, end = starts[s], starts[s + 1]",
        "        n = end - begin",
        "        rows = order[begin:end]",
        *[f"        a{i} = A{i}[:n]" for i in range(last + 1)],
        *[f"        g{i} = G{i}[:n]" for i in range(first_dense + 1, last + 1)],
        *[
            f"        m{i} = M{i}[:n]"
            for i, step in enumerate(layout.steps, 1)
            if isinstance(step, DropoutStep)
        ],
        "        for i in range(n):",
        "            a0[i] = X[rows[i]]",  # the batch's rows, in the model's dtype
    ]
    backward: list[list[str]] = []  # each step's backward lines, in forward order
    activation_index = dropout_index = 0
    for i, step in enumerate(layout.steps, 1):
        x, o, g, gx = f"a{i - 1}", f"a{i}", f"g{i}", f"g{i - 1}"
        if isinstance(step, DenseStep):
            body_lines, back = _dense(step, x, o, g, gx, i, i - 1 != first_dense)
            body += body_lines
        elif isinstance(step, ActivationStep):
            k = activation_index
            activation_index += 1
            c = "".join(f", constants[{k}][{m}]" for m in range(len(step.cls.constants)))
            body += [
                "        for i in range(n):",
                f"            for j in range({widths[i]}):",
                f"                {o}[i, j] = f{k}({x}[i, j]{c})",
            ]
            back = [
                "        for i in range(n):",
                f"            for j in range({widths[i]}):",
                f"                {gx}[i, j] = {g}[i, j] * slope{k}({x}[i, j], {o}[i, j]{c})",
            ]
        else:
            k = dropout_index
            dropout_index += 1
            body += [
                "        for i in range(n):",
                f"            for j in range({widths[i]}):",
                f"                m{i}[i, j] = (draws{k}[begin + i, j] >= keep[{k}]) * scales[{k}]",
                f"                {o}[i, j] = {x}[i, j] * m{i}[i, j]",
            ]
            back = [
                "        for i in range(n):",
                f"            for j in range({widths[i]}):",
                f"                {gx}[i, j] = {g}[i, j] * m{i}[i, j]",
            ]
        backward.append(back)
    z, g = f"a{last}", f"g{last}"
    c = "".join(f", loss_constants[{m}]" for m in range(len(layout.loss.constants)))
    # the loss: ℓ_i of each row (share: 1/k of its entries' sum for a mean over entries),
    # L = Σ w_i ℓ_i / Σ w ("mean") or Σ w_i ℓ_i ("sum"), and ∂L/∂ŷ row by row
    if by_entry:
        body += [
            "        values = np.empty(n)",
            "        for i in range(n):",
            "            row = 0.0",
            f"            for j in range({widths[last]}):",
            f"                value, slope = loss_formula(Y[rows[i], j], {z}[i, j]{c})",
            f"                {g}[i, j] = slope",
            "                row += value",
            "            values[i] = row",
        ]
    else:
        body += [
            f"        values, slopes = loss_formula(Y[rows], {z}{c})",
            f"        {g}[:] = slopes",
        ]
    body += [
        "        total = 0.0",
        "        weight = 0.0",
        "        for i in range(n):",
        "            total += W[rows[i]] * values[i]",
        "            weight += W[rows[i]]",
        "        if mean:",
        "            loss = total * share / weight if weight > 0 else 0.0",
        "        else:",
        "            loss = total * share",
        "        for i in range(n):",
        "            factor = W[rows[i]] * share / weight if mean else W[rows[i]] * share",
        "            if mean and weight <= 0:",
        "                factor = 0.0",
        f"            for j in range({widths[last]}):",
        f"                {g}[i, j] *= factor",
        f"                outputs[begin + i, j] = {z}[i, j]",
    ]
    for back in reversed(backward[first_dense:]):
        body += back
    held = [f"slot{k}" if present else "0.0" for k, present in enumerate(layout.held)]
    results = ", ".join(
        ["w", "d", *[f"s{k}" if present else "_" for k, present in enumerate(layout.held)]]
    )
    numbers = [f"numbers[s, {k}]" for k in range(layout.n_numbers)]
    body += [
        "        losses[s] = loss",
        "        finite = math.isfinite(loss)",
        "        for e in range(grads.size):",
        "            finite &= math.isfinite(grads[e])",
        "        if not finite:",
        "            return s",
        "        if clipnorm > 0 or clipvalue > 0:",
        "            clip(grads, bounds, clipnorm, clipvalue)",
        *[f"        u{k} = {number}" for k, number in enumerate(numbers)],
        "        for e in range(params.size):",
        f"            {results} = rule(params[e], grads[e], "
        + ", ".join([f"{h}[e]" if h != "0.0" else h for h in held])
        + (", " if held else "")
        + ", ".join(f"u{k}" for k in range(len(numbers)))
        + ")",
        "            params[e] = w - u0 * d",  # w ← w − s · d, s the first number
        *[f"            slot{k}[e] = s{k}" for k, present in enumerate(layout.held) if present],
        "        t += 1",
        "        if t % FLUSH_EVERY == 0:",
        *[f"            flush(slot{k}, tiny)" for k, present in enumerate(layout.held) if present],
        "            pass",
        "    return len(starts) - 1",
        "",
    ]
    return "\n".join(lines + body)


#: Below this many kernel entries a product is written out as loops (a BLAS call costs more).
SMALL_KERNEL = 64


def _dense(step: DenseStep, x: str, o: str, g: str, gx: str, i: int, needs_input_gradient: bool):
    """The forward lines (o = x W + b) and the backward lines (∂L/∂W, ∂L/∂b and, unless this
    is the first layer with weights, ∂L/∂x into ``gx``) of one Dense step."""
    start, r, c = step.kernel
    b = step.bias
    forward = [f"        k{i} = params[{start}:{start + r * c}].reshape(({r}, {c}))"]
    back = []
    if r * c <= SMALL_KERNEL:
        forward += [
            "        for i in range(n):",
            f"            for j in range({c}):",
            f"                total = {'0.0' if b is None else f'params[{b} + j]'}",
            f"                for p in range({r}):",
            f"                    total += {x}[i, p] * k{i}[p, j]",
            f"                {o}[i, j] = total",
        ]
        back += [
            f"        for p in range({r}):",
            f"            for j in range({c}):",
            "                total = 0.0",
            "                for i in range(n):",
            f"                    total += {x}[i, p] * {g}[i, j]",
            f"                grads[{start} + p * {c} + j] = total",
        ]
    else:
        forward.append(f"        product(gemm, {x}, k{i}, {o})")
        if b is not None:
            forward += [
                "        for i in range(n):",
                f"            for j in range({c}):",
                f"                {o}[i, j] += params[{b} + j]",
            ]
        back.append(
            f"        product(gemm, {x}.T, {g}, grads[{start}:{start + r * c}].reshape(({r}, {c})))"
        )
    if b is not None:
        back += [  # Σ_rows G, row by row (as NumPy sums axis 0: in cache order)
            f"        grads[{b}:{b + c}] = 0",
            "        for i in range(n):",
            f"            for j in range({c}):",
            f"                grads[{b} + j] += {g}[i, j]",
        ]
    if needs_input_gradient:
        if r * c <= SMALL_KERNEL:
            back += [
                "        for i in range(n):",
                f"            for p in range({r}):",
                "                total = 0.0",
                f"                for j in range({c}):",
                f"                    total += {g}[i, j] * k{i}[p, j]",
                f"                {gx}[i, p] = total",
            ]
        else:
            back.append(f"        product(gemm, {g}, k{i}.T, {gx})")
    return forward, back


def cache_directory() -> Path:
    """Where the generated modules and numba's cache of them live:
    ``$MINIFW_CACHE_DIR``, else ``$XDG_CACHE_HOME/minifw/jit`` (``~/.cache/minifw/jit``)."""
    explicit = os.environ.get("MINIFW_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "minifw" / "jit"


_LOADED: dict[Layout, object] = {}  # this process's compiled steps, by layout


def load(layout: Layout):
    """The compiled ``run`` of ``layout``: its module written (once) and imported."""
    if layout in _LOADED:
        return _LOADED[layout]
    _LOADED[layout] = run = _import(layout)
    return run


def _import(layout: Layout):
    text = source(layout)
    digest = hashlib.sha256((text + _formula_sources(layout)).encode()).hexdigest()[:20]
    name = f"minifw_steps_{digest}"
    if name in sys.modules:
        return sys.modules[name].run
    directory = cache_directory()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)  # another process may write the same file: atomically
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # first: numba's cache finds the module by its name
    spec.loader.exec_module(module)
    return module.run

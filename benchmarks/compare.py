"""Run every workload once, side by side, and print one Markdown table of times and ratios.

    python -m benchmarks.compare [--json FILE] [--repeats N] [--only W1,W2]

minifw, the bare loop and the GEMM floor always; PyTorch (2 threads) and
scikit-learn when they are installed. Times are medians over the repeats,
with the spread (min–max) beside them; compare only ratios from one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from benchmarks import cnn, peers, sequences, workloads
from benchmarks.workloads import W2, W3, W4, GemmFloor, Workload


def timed(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Median and spread of each run over ``repeats`` rounds, after one warm-up round.

    The runs take turns within each round, so that a slow spell of a shared
    machine falls on all of them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeats + 1):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {
        name: {"median": statistics.median(t), "min": min(t), "max": max(t)}
        for name, t in times.items()
    }


def epochs_per_run(w: Workload) -> int:
    """W1's epoch is 4 steps: time 1000 of them (4000 steps)."""
    return 1000 if w.name == "W1" else 1


def measure(w: Workload, repeats: int) -> dict:
    X, y = workloads.make_data(w)
    model = workloads.minifw_model(w)
    bare = workloads.bare_loop(w, model.get_weights())
    rng = np.random.default_rng(workloads.SEED)
    epochs = epochs_per_run(w)
    steps = -(-w.rows // w.batch) * epochs
    runs = {
        "minifw": lambda: model.fit(
            X, y, epochs=epochs, batch_size=w.batch, shuffle=w.shuffle, verbose=0
        ),
        "bare": lambda: [bare.epoch(X, y, rng) for _ in range(epochs)],
    }
    if workloads.mf.jit.available():
        compiled = workloads.minifw_model(w, jit_compile=True)
        compiled.set_weights(model.get_weights())
        runs["jit"] = lambda: compiled.fit(
            X, y, epochs=epochs, batch_size=w.batch, shuffle=w.shuffle, verbose=0
        )
    if w.name != "W1":
        floor = GemmFloor(w, w.batch)
        runs["gemm"] = lambda: [floor.step() for _ in range(steps)]
    results = timed(runs, repeats)
    results["steps"] = steps
    return results


def many_models(repeats: int, k: int = 16) -> dict:
    """W2-K: ``k`` W2 models (seeds 0…k−1, learning rates 1e-3 · (1 + i/k)) trained one
    epoch by ``mf.fit_many``, on the NumPy engine and compiled; per model, beside one
    epoch of the bare loop."""
    mf = workloads.mf
    X, y = workloads.make_data(W2)

    def models(jit: bool) -> list:
        out = []
        for i in range(k):
            model = workloads.minifw_model(W2, jit_compile=jit)
            model.compile(
                mf.optimizers.Adam(W2.learning_rate * (1 + i / k)), "mse",
                jit_compile=jit, steps_per_execution="epoch",
            )  # fmt: skip
            out.append(model)
        return out

    bare = workloads.bare_loop(W2, workloads.minifw_model(W2).get_weights())
    rng = np.random.default_rng(workloads.SEED)
    runs = {"bare": lambda: bare.epoch(X, y, rng)}
    numpy_models = models(False)
    runs["minifw"] = lambda: mf.fit_many(numpy_models, X, y, batch_size=W2.batch, verbose=0)
    if mf.jit.available():
        compiled = models(True)
        runs["jit"] = lambda: mf.fit_many(compiled, X, y, batch_size=W2.batch, verbose=0)
    results = timed(runs, repeats)
    for key in ("minifw", "jit"):
        if key in results:
            results[key] = {stat: value / k for stat, value in results[key].items()}
    return results


def first_compiled_epoch() -> dict:
    """Seconds to the end of W2's first compiled epoch in a new process: with an empty cache
    (cold: numba compiles) and again with the cache the first run left (warm)."""
    import subprocess
    import tempfile

    script = (
        "import time; start = time.perf_counter()\n"
        "from benchmarks import workloads as w\n"
        "X, y = w.make_data(w.W2)\n"
        "model = w.minifw_model(w.W2, jit_compile=True)\n"
        "model.fit(X, y, epochs=1, batch_size=32, verbose=0)\n"
        "print(time.perf_counter() - start)\n"
    )
    times = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "MINIFW_CACHE_DIR": cache}
        for key in ("cold", "warm"):
            done = subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
            )
            times[key] = float(done.stdout.split()[-1])
    return times


def measure_peers(w: Workload, repeats: int) -> dict:
    """The installed peers on ``w``, timed after every minifw measurement: PyTorch's
    thread pool stays awake after its runs and would slow whatever is timed next."""
    X, y = workloads.make_data(w)
    epochs, results = epochs_per_run(w), {}
    for name, make in peers.available().items():
        results.update(timed({name: make(w, X, y, epochs)}, max(1, repeats // 2)))
    return results


def bookkeeping(repeats: int) -> dict:
    """W2 with validation data, History and a callback at verbose=0, against plain fit."""
    X, y = workloads.make_data(W2)
    X_val, y_val = X[:2000], y[:2000]

    class Nothing(workloads.mf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    plain, full = workloads.minifw_model(W2), workloads.minifw_model(W2)
    bare = workloads.bare_loop(W2, plain.get_weights())
    rng = np.random.default_rng(0)
    return timed(
        {
            "plain": lambda: plain.fit(X, y, epochs=1, batch_size=32, verbose=0),
            "full": lambda: full.fit(
                X,
                y,
                epochs=1,
                batch_size=32,
                verbose=0,
                validation_data=(X_val, y_val),
                callbacks=[Nothing()],
            ),
            "bare": lambda: bare.epoch(X, y, rng),
        },
        repeats,
    )


def scaling(repeats: int) -> dict:
    """Time per sample across batch sizes, and W2's epoch time across row counts."""
    per_sample = {}
    for w, rows in ((W2, 4096), (W4, None)):
        for batch in (1, 8, 64, 512):
            shaped = w.with_batch(batch).with_rows(rows or batch)
            X, y = workloads.make_data(shaped)
            model = workloads.minifw_model(shaped)
            bare = workloads.bare_loop(shaped, model.get_weights())
            both = timed(_fit_and_bare(model, bare, X, y, batch), repeats)
            per_sample[f"{w.name} batch {batch}"] = {
                name: both[name]["median"] / shaped.rows for name in both
            }
    runs = {}
    for count in (10_000, 20_000, 40_000, 80_000):  # interleaved, so noise falls on all alike
        shaped = W2.with_rows(count)
        X, y = workloads.make_data(shaped)
        runs[count] = _fit_and_bare(workloads.minifw_model(shaped), None, X, y, 32)["minifw"]
    by_rows = timed(runs, repeats)
    rows = {count: by_rows[count]["median"] for count in runs}
    return {"per_sample": per_sample, "epoch_by_rows": rows}


def _fit_and_bare(model, bare, X, y, batch: int) -> dict:
    """One epoch of minifw's fit (and of the bare loop, if given) as timed runs."""
    runs = {"minifw": lambda: model.fit(X, y, epochs=1, batch_size=batch, verbose=0)}
    if bare is not None:
        rng = np.random.default_rng(0)
        runs["bare"] = lambda: bare.epoch(X, y, rng)
    return runs


def memory() -> dict:
    """Peak memory that fit allocates above W3's data, as a fraction of the data's size."""
    X, y = workloads.make_data(W3)
    model = workloads.minifw_model(W3)
    model.fit(X[:256], y[:256], epochs=1, batch_size=W3.batch, verbose=0)  # warm up
    tracemalloc.start()
    model.fit(X, y, epochs=1, batch_size=W3.batch, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data = X.nbytes + y.nbytes
    return {"data_bytes": data, "peak_bytes": peak, "fraction": peak / data}


def measure_cnn(repeats: int) -> dict:
    """W5: minifw, the bare im2col loop (with its GEMM share) and PyTorch, one epoch each."""
    X, labels = cnn.make_data()
    model = cnn.minifw_model()
    bare = cnn.BareCNN(model.get_weights())
    rng = np.random.default_rng(0)
    runs = {
        "minifw": lambda: model.fit(X, labels, epochs=1, batch_size=cnn.BATCH, verbose=0),
        "bare": lambda: bare.epoch(X, labels, rng),
    }
    bare.gemm_seconds = 0.0
    results = timed(runs, repeats)
    results["gemm_share"] = bare.gemm_seconds / (repeats + 1) / results["bare"]["median"]
    return results


def measure_sequences(repeats: int) -> dict:
    """W6: minifw and the bare NumPy LSTM loop, one epoch each."""
    ids, labels = sequences.make_data()
    model = sequences.minifw_model()
    bare = sequences.BareLSTM(model.get_weights())
    rng = np.random.default_rng(0)
    return timed(
        {
            "minifw": lambda: model.fit(
                ids, labels, epochs=1, batch_size=sequences.BATCH, verbose=0
            ),
            "bare": lambda: bare.epoch(ids, labels, rng),
        },
        repeats,
    )


def measure_sequences_peer(repeats: int) -> dict:
    """PyTorch on W6, when installed (after every minifw measurement)."""
    if importlib.util.find_spec("torch") is None:
        return {}
    ids, labels = sequences.make_data()
    return timed({"torch": sequences.torch_run(ids, labels)}, repeats)


def measure_cnn_peer(repeats: int) -> dict:
    """PyTorch on W5, when installed (after every minifw measurement, as above)."""
    if importlib.util.find_spec("torch") is None:
        return {}
    X, labels = cnn.make_data()
    return timed({"torch": cnn.torch_run(X, labels)}, repeats)


def machine() -> dict:
    info = {
        "cpu": _cpu_model(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cell(r: dict, key: str, scale: float) -> str:
    """A time with its spread, and for peers the ratio to the bare loop."""
    if key not in r:
        return "—"
    value, low, high = (r[key][stat] * scale for stat in ("median", "min", "max"))
    text = f"{value:.3g} ({low:.3g}–{high:.3g})"
    if key in ("torch", "sklearn"):
        text += f", {r[key]['median'] / r['bare']['median']:.2f}× bare"
    return text


def table(results: dict) -> str:
    lines = [
        "| workload | unit | GEMM floor | bare loop | minifw | minifw / bare | minifw / floor"
        " | minifw jit_compile | jit / bare | PyTorch | scikit-learn |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    units = {"W1": "µs/step", "W4": "s/step"}
    for name, r in results["workloads"].items():
        scale = 1e6 / r["steps"] if name == "W1" else 1.0
        ours = r["minifw"]["median"]
        floor = f"{ours / r['gemm']['median']:.2f}" if "gemm" in r else "—"
        keys = ("gemm", "bare", "minifw", "jit", "torch", "sklearn")
        cells = [_cell(r, key, scale) for key in keys]
        jit = f"{r['jit']['median'] / r['bare']['median']:.2f}" if "jit" in r else "—"
        lines.append(
            f"| {name} | {units.get(name, 's/epoch')} | {cells[0]} | {cells[1]} | {cells[2]} | "
            f"{ours / r['bare']['median']:.2f} | {floor} | {cells[3]} | {jit} | {cells[4]} | "
            f"{cells[5]} |"
        )
    return "\n".join(lines)


def _against_bare(workload: str, reference: str, bare: str, r: dict) -> str:
    """One workload's table: its bare loop, minifw, their ratio and PyTorch if measured."""
    torch_cell = "—"
    if "torch" in r:
        torch_cell = (
            f"{_cell(r, 'torch', 1.0)}; minifw / PyTorch "
            f"{r['minifw']['median'] / r['torch']['median']:.2f}"
        )
    return (
        f"\n| workload | unit | {reference} | minifw | minifw / bare | PyTorch |\n"
        "|---|---|---|---|---|---|\n"
        f"| {workload} | s/epoch | {bare} | {_cell(r, 'minifw', 1.0)} | "
        f"{r['minifw']['median'] / r['bare']['median']:.2f} | {torch_cell} |"
    )


def report(results: dict) -> str:
    parts = [table(results)]
    if "W5" in results:
        r = results["W5"]
        bare = f"{_cell(r, 'bare', 1.0)} ({r['gemm_share']:.0%})"
        parts.append(_against_bare("W5 CNN", "bare im2col loop (GEMM share)", bare, r))
    if "W6" in results:
        r = results["W6"]
        parts.append(_against_bare("W6 LSTM", "bare NumPy LSTM loop", _cell(r, "bare", 1.0), r))
    if "bookkeeping" in results:
        b = results["bookkeeping"]
        parts.append(
            f"\nBookkeeping (W2 epoch with validation data, History and a callback, verbose=0): "
            f"{b['full']['median']:.3f} s vs plain fit {b['plain']['median']:.3f} s "
            f"({b['full']['median'] / b['plain']['median'] - 1:+.1%}), "
            f"{b['full']['median'] / b['bare']['median']:.2f}× the bare loop."
        )
    if "scaling" in results:
        s = results["scaling"]
        parts.append("\nTime per sample (µs), minifw / bare loop:")
        for key, value in s["per_sample"].items():
            parts.append(
                f"- {key}: {value['minifw'] * 1e6:.3g} / {value['bare'] * 1e6:.3g} "
                f"({value['minifw'] / value['bare']:.2f}×)"
            )
        rows = s["epoch_by_rows"]
        parts.append(
            "W2 epoch time by rows: "
            + ", ".join(f"{k // 1000}k: {v:.3f} s" for k, v in rows.items())
            + f"; 80k / 10k = {rows[80_000] / rows[10_000]:.2f}"
        )
    if "memory" in results:
        m = results["memory"]
        parts.append(
            f"\nMemory (fit on W3's data, tracemalloc): peak {m['peak_bytes'] / 2**20:.1f} MiB "
            f"above the data's {m['data_bytes'] / 2**20:.0f} MiB = {m['fraction']:.1%}."
        )
    if "W2-K" in results:
        r = results["W2-K"]
        jit = (
            f"; compiled {_cell(r, 'jit', 1.0)} ({r['jit']['median'] / r['bare']['median']:.2f}×)"
            if "jit" in r
            else ""
        )
        parts.append(
            f"\nW2-K, 16 W2 models by fit_many, s/epoch per model: NumPy engine "
            f"{_cell(r, 'minifw', 1.0)} ({r['minifw']['median'] / r['bare']['median']:.2f}× the "
            f"bare loop's {r['bare']['median']:.3g}){jit}."
        )
    if "compile" in results:
        c = results["compile"]
        parts.append(
            f"\nFirst compiled W2 epoch in a new process (import, data, compile, train): "
            f"{c['cold']:.2f} s with an empty cache, {c['warm']:.2f} s from the cache."
        )
    info = results["machine"]
    parts.append(
        f"\nMachine: {info['cpu']} ({info['machine']}, {info['cpus']} CPUs), "
        f"OPENBLAS_CORETYPE {info['openblas_coretype']}, Python {info['python']}, "
        f"NumPy {info['numpy']}, BLAS {info['blas']}."
    )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--only",
        default="W1,W2,W3,W4,W5,W6,W2-K,bookkeeping,scaling,memory,compile",
        help="comma-separated parts to run",
    )
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    results = {"machine": machine(), "workloads": {}}
    for name, w in workloads.WORKLOADS.items():
        if name in parts:
            print(f"measuring {name} ({w.description}) ...", file=sys.stderr)
            results["workloads"][name] = measure(w, args.repeats)
    for name, run in (
        ("W5", lambda: measure_cnn(args.repeats)),
        ("W6", lambda: measure_sequences(args.repeats)),
        ("bookkeeping", lambda: bookkeeping(args.repeats)),
        ("scaling", lambda: scaling(args.repeats)),
        ("memory", memory),
        ("compile", first_compiled_epoch),
        ("W2-K", lambda: many_models(args.repeats)),
    ):
        if name in parts:
            print(f"measuring {name} ...", file=sys.stderr)
            results[name] = run()
    for name in results["workloads"]:  # the peers last: see measure_peers
        print(f"measuring the peers on {name} ...", file=sys.stderr)
        results["workloads"][name].update(measure_peers(workloads.WORKLOADS[name], args.repeats))
    if "W5" in results:
        results["W5"].update(measure_cnn_peer(args.repeats))
    if "W6" in results:
        results["W6"].update(measure_sequences_peer(args.repeats))
    print(report(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()

"""Data-parallel training over MPI: N processes give one process's weights (mpiexec -n 2, 3)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minifw as mf

MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not __import__("importlib").util.find_spec("mpi4py"),
    reason="mpi4py or mpiexec is not installed (pip install 'minifw[mpi]')",
)

COMMON = """
import json, sys
import numpy as np
import minifw as mf
from minifw.distributed import DataParallel

out = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.normal(size=(103, 5))
y = np.tanh(X @ rng.normal(size=5))


def network():
    return mf.Sequential(
        [mf.layers.Dense(8, activation="tanh"), mf.layers.BatchNormalization(),
         mf.layers.Dropout(0.3), mf.layers.Dense(1)],
        dtype="float64", seed=0,
    )
"""


def run(ranks: int, body: str, tmp_path, timeout: int = 120) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(COMMON + textwrap.dedent(body))
    result = subprocess.run(
        [MPIEXEC, "-n", str(ranks), sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode:
        pytest.fail(f"mpiexec -n {ranks} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return result


def single_process(optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(103, 5))
    y = np.tanh(X @ rng.normal(size=5))
    model = mf.Sequential(
        [
            mf.layers.Dense(8, activation="tanh"),
            mf.layers.BatchNormalization(),
            mf.layers.Dropout(0.3),
            mf.layers.Dense(1),
        ],
        dtype="float64",
        seed=0,
    )
    model.compile(optimizer, "mse", metrics=["mae"])
    history = model.fit(X, y, epochs=3, batch_size=10, verbose=0)
    return model.get_weights(), history.history


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
def test_n_ranks_give_one_processs_weights_and_history(ranks, optimizer, tmp_path):
    make = {
        "sgd-momentum": "mf.optimizers.SGD(0.05, momentum=0.9)",
        "adam": "mf.optimizers.Adam(0.01)",
    }[optimizer]
    run(
        ranks,
        f"""
        model = network()
        model.compile({make}, "mse", metrics=["mae"], distribute=DataParallel())
        history = model.fit(X, y, epochs=3, batch_size=10, verbose=0)  # 103 rows, 10 a batch
        rank = model.distribute.rank
        np.savez(f"{{out}}/weights{{rank}}.npz", *model.get_weights())
        json.dump(history.history, open(f"{{out}}/history{{rank}}.json", "w"))
    """,
        tmp_path,
    )
    expected, history = single_process(
        mf.optimizers.SGD(0.05, momentum=0.9)
        if optimizer == "sgd-momentum"
        else mf.optimizers.Adam(0.01)
    )
    first = np.load(tmp_path / "weights0.npz")
    for rank in range(ranks):
        weights = np.load(tmp_path / f"weights{rank}.npz")
        for key, value in zip(weights.files, expected, strict=True):
            np.testing.assert_array_equal(weights[key], first[key])  # ranks agree exactly
            np.testing.assert_allclose(weights[key], value, rtol=1e-10, atol=1e-12)
        logged = json.loads((tmp_path / f"history{rank}.json").read_text())
        assert logged == json.loads((tmp_path / "history0.json").read_text())
        for key in ("loss", "mae"):
            np.testing.assert_allclose(logged[key], history[key], rtol=1e-10)


def test_one_process_with_data_parallel_is_the_plain_fit_bit_for_bit():
    pytest.importorskip("mpi4py")
    from minifw.distributed import DataParallel

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), rng.normal(size=50)
    results = []
    for distribute in (None, DataParallel()):
        model = mf.Sequential(
            [
                mf.layers.Dense(6, activation="relu"),
                mf.layers.BatchNormalization(),
                mf.layers.Dropout(0.2),
                mf.layers.Dense(1),
            ],
            seed=3,
        )
        model.compile("adam", "mse", distribute=distribute)
        history = model.fit(X, y, epochs=2, batch_size=8, verbose=0)
        results.append((model.get_weights(), history.history))
    for a, b in zip(results[0][0], results[1][0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]


@needs_mpi
def test_only_rank_0_prints_and_writes_files(tmp_path):
    result = run(
        2,
        """
        model = network()
        model.compile("sgd", "mse", distribute=DataParallel())
        rank = model.distribute.rank
        callbacks = [
            mf.callbacks.ModelCheckpoint(f"{out}/checkpoint-rank{rank}.minifw", monitor="loss"),
            mf.callbacks.CSVLogger(f"{out}/log-rank{rank}.csv"),
        ]
        model.fit(X, y, epochs=2, batch_size=10, verbose=2, callbacks=callbacks)
        model.save(f"{out}/model-rank{rank}.minifw")
    """,
        tmp_path,
    )
    names = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".minifw", ".csv"))
    assert names == ["checkpoint-rank0.minifw", "log-rank0.csv", "model-rank0.minifw"]
    assert result.stdout.count("Epoch 1/2") == 1 and result.stdout.count("Epoch 2/2") == 1


@needs_mpi
def test_uneven_shards_stop_every_rank_at_the_shortest(tmp_path):
    result = run(
        2,
        """
        model = network()
        model.compile("sgd", "mse", distribute=DataParallel())
        rank = model.distribute.rank
        count = 5 if rank == 0 else 3  # rank 0's shard is longer
        shard = [(X[10 * i : 10 * i + 10], y[10 * i : 10 * i + 10]) for i in range(count)]
        seen = []
        class Count(mf.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                seen.append(batch)
        model.fit(shard, epochs=2, verbose=0, callbacks=[Count()])
        json.dump(seen, open(f"{out}/seen{rank}.json", "w"))
    """,
        tmp_path,
    )
    for rank in (0, 1):
        assert json.loads((tmp_path / f"seen{rank}.json").read_text()) == [0, 1, 2, 0, 1, 2]
    assert "stopped at the shortest shard" in result.stderr


@needs_mpi
def test_a_non_finite_loss_on_one_rank_stops_every_rank(tmp_path):
    run(
        2,
        """
        model = network()
        model.compile("sgd", "mse", distribute=DataParallel())
        rank = model.distribute.rank
        big = 1e200 if rank == 1 else 1.0  # only rank 1's batch overflows
        shard = [(X[:10], y[:10] * big), (X[10:20], y[10:20])]
        model.build((None, 5))
        before = model.get_weights()
        try:
            model.fit(shard, epochs=1, verbose=0)
        except mf.errors.NonFiniteError as error:
            unchanged = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
            open(f"{out}/stopped{rank}", "w").write(f"{unchanged}: {error}")
    """,
        tmp_path,
    )
    for rank in (0, 1):
        assert (tmp_path / f"stopped{rank}").read_text().startswith("True: The loss became")


@needs_mpi
def test_the_ordered_sum_agrees_with_the_allreduce_and_across_ranks(tmp_path):
    run(
        3,
        """
        results = []
        for ordered in (False, True):
            model = network()
            model.compile("adam", "mse", distribute=DataParallel(ordered=ordered))
            model.fit(X, y, epochs=2, batch_size=12, verbose=0)
            results.append(model.get_weights())
        np.savez(f"{out}/ordered{model.distribute.rank}.npz", *results[1])
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    """,
        tmp_path,
    )
    first = np.load(tmp_path / "ordered0.npz")
    for rank in (1, 2):
        other = np.load(tmp_path / f"ordered{rank}.npz")
        for key in first.files:
            np.testing.assert_array_equal(first[key], other[key])


def test_without_mpi4py_the_error_names_the_extra(refuse_import):
    refuse_import("mpi4py")
    from minifw.distributed import DataParallel

    with pytest.raises(ImportError, match=r"pip install 'minifw\[mpi\]'"):
        DataParallel()

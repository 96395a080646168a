"""Data-parallel training over MPI: N processes give one process's weights (mpiexec -n 2, 3)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

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


def run(
    ranks: int, body: str, tmp_path, timeout: int = 120, *, fails: bool = False
) -> subprocess.CompletedProcess:
    """``COMMON + body`` under ``mpiexec -n ranks``, within ``timeout`` seconds; it must
    succeed, or with ``fails`` end the whole job with an error."""
    script = tmp_path / "script.py"
    script.write_text(COMMON + textwrap.dedent(body))
    result = subprocess.run(
        [MPIEXEC, "-n", str(ranks), sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if fails:
        assert result.returncode != 0, result.stdout + result.stderr
    elif result.returncode:
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


SEQUENCE_MODEL = """
def sequence_model():
    return mf.Sequential(
        [mf.layers.Embedding(9, 4, mask_zero=True, input_length=6),
         mf.layers.LSTM(5, return_sequences=True), mf.layers.GRU(3), mf.layers.Dense(1)],
        dtype="float64", seed=0,
    )


ids = np.random.default_rng(1).integers(0, 9, size=(37, 6))
targets = np.random.default_rng(2).normal(size=37)
"""


@needs_mpi
def test_sequence_layers_train_data_parallel_as_in_one_process(tmp_path):
    """Embedding (with padding masked) → LSTM → GRU → Dense on 2 ranks: one process's
    weights (the Embedding's sparse gradient summed over the ranks)."""
    run(
        2,
        SEQUENCE_MODEL
        + """
model = sequence_model()
model.compile(mf.optimizers.Adam(0.01), "mse", distribute=DataParallel())
model.fit(ids, targets, epochs=2, batch_size=8, verbose=0)
np.savez(f"{out}/weights{model.distribute.rank}.npz", *model.get_weights())
""",
        tmp_path,
    )
    namespace = {"mf": mf, "np": np}
    exec(SEQUENCE_MODEL, namespace)
    alone = namespace["sequence_model"]()
    alone.compile(mf.optimizers.Adam(0.01), "mse")
    alone.fit(namespace["ids"], namespace["targets"], epochs=2, batch_size=8, verbose=0)
    for rank in range(2):
        weights = np.load(tmp_path / f"weights{rank}.npz")
        for key, value in zip(weights.files, alone.get_weights(), strict=True):
            np.testing.assert_allclose(weights[key], value, rtol=1e-9, atol=1e-12)


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


# -- never a hang, never mismatched data ----------------------------------------------------

FAILS_TOGETHER = """
def fit_and_report(**fit_options):
    try:
        model.fit(Xr, yr, epochs=2, batch_size=10, verbose=0, **fit_options)
    except (ValueError, TypeError) as error:
        unchanged = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        open(f"{out}/error{rank}", "w").write(f"{type(error).__name__} {unchanged}: {error}")
    else:
        open(f"{out}/error{rank}", "w").write("trained")

def report(call, errors=(ValueError, TypeError)):
    try:
        call()
    except errors as error:
        open(f"{out}/error{rank}", "w").write(str(error))

from mpi4py import MPI
rank = MPI.COMM_WORLD.Get_rank()
model = network()
model.compile("sgd", "mse", distribute=DataParallel())
model.build((None, 5))
before = model.get_weights()
"""


def errors_of(tmp_path, ranks=2) -> list[str]:
    return [(tmp_path / f"error{rank}").read_text() for rank in range(ranks)]


def run_together(body: str, tmp_path, ranks=2) -> list[str]:
    """Each rank's error (or "trained") from ``body`` run after FAILS_TOGETHER, within 60 s."""
    run(ranks, FAILS_TOGETHER + textwrap.dedent(body), tmp_path, timeout=60)
    return errors_of(tmp_path, ranks)


@needs_mpi
@pytest.mark.parametrize(
    "mismatch, expected",
    [
        (
            "Xr, yr = (X, y) if rank == 0 else (X[:90], y[:90])",
            "rank 1 holds 90 rows of X, rank 0 103",
        ),
        (
            "Xr, yr = (X, y) if rank == 0 else (np.c_[X, X[:, :1]], y)",
            r"X has shape (103, 6) on rank 1, (103, 5) on rank 0",
        ),
        (
            "Xr, yr = (X, y) if rank == 0 else (X, -y)",
            "y has the same shape (103, 1) on ranks 0 and 1 but different values",
        ),
        (
            "Xr, yr = (X, y) if rank == 0 else (X.astype(np.float32), y)",
            "X has dtype <f4 on rank 1, <f8 on rank 0",
        ),
    ],
    ids=["rows", "features", "values", "dtype"],
)
def test_ranks_holding_different_arrays_all_refuse_before_training(mismatch, expected, tmp_path):
    for text in run_together(mismatch + "\nfit_and_report()\n", tmp_path):
        assert text.startswith("ValueError True: DataParallel: the ranks hold different data")
        assert expected in text


@needs_mpi
def test_ranks_with_different_feature_counts_build_nothing(tmp_path):
    body = """
    model = network()
    model.compile("sgd", "mse", distribute=DataParallel())
    report(lambda: model.fit(X if rank == 0 else X[:, :4], y, epochs=1, verbose=0))
    open(f"{out}/built{rank}", "w").write(str(model.built))
    """
    for rank, text in enumerate(run_together(body, tmp_path)):
        assert text.startswith("DataParallel: the ranks hold different data: X has shape")
        assert (tmp_path / f"built{rank}").read_text() == "False"


@needs_mpi
def test_nan_on_one_rank_is_refused_on_every_rank_naming_it(tmp_path):
    body = """
    Xr, yr = X.copy(), y
    if rank == 1:
        Xr[7, 2] = np.nan
    fit_and_report()
    """
    other, mine = run_together(body, tmp_path)
    assert mine.startswith("ValueError True: `X` contains NaN or infinity (first at row 7)")
    assert other.startswith("ValueError True: DataParallel: rank 1 failed: `X` contains NaN")


@needs_mpi
def test_different_validation_data_is_refused_on_every_rank(tmp_path):
    body = """
    Xr, yr = X, y
    fit_and_report(validation_data=(X[:20], y[:20] + rank))
    """
    for text in run_together(body, tmp_path):
        assert "y_val has the same shape (20, 1) on ranks 0 and 1 but different values" in text


@needs_mpi
def test_evaluate_refuses_different_arrays_on_every_rank(tmp_path):
    body = """
    model.fit(X, y, epochs=1, batch_size=10, verbose=0)
    report(lambda: model.evaluate(X, y if rank == 0 else y[::-1]))
    """
    for text in run_together(body, tmp_path):
        assert "but different values" in text


@needs_mpi
def test_a_batch_refused_on_one_rank_mid_epoch_raises_on_every_rank(tmp_path):
    body = """
    Xr = X.copy()
    if rank == 1:
        Xr[35] = np.inf  # the fourth batch of rank 1's shard
    shard = [(Xr[10 * i : 10 * i + 10], y[10 * i : 10 * i + 10]) for i in range(6)]
    report(lambda: model.fit(shard, epochs=1, verbose=0))
    """
    other, mine = run_together(body, tmp_path)
    assert "contains NaN or infinity" in mine
    assert other.startswith("DataParallel: rank 1 failed:") and "NaN or infinity" in other


@needs_mpi
def test_batch_sources_whose_first_batches_differ_in_features_are_refused(tmp_path):
    body = """
    model = network()  # unbuilt: each rank would build from its own first batch
    model.compile("sgd", "mse", distribute=DataParallel())
    width = 5 if rank == 0 else 4
    shard = [(X[10 * i : 10 * i + 10, :width], y[10 * i : 10 * i + 10]) for i in range(3)]
    report(lambda: model.fit(shard, epochs=1, verbose=0))
    """
    for text in run_together(body, tmp_path):
        assert "the first batch's x has shape ('n', 4) on rank 1, ('n', 5) on rank 0" in text


@needs_mpi
def test_a_stop_asked_on_one_rank_stops_every_rank_after_the_same_step(tmp_path):
    body = """
    class StopOnRank1(mf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if rank == 1 and batch == 3:
                self.model.stop_training = True
    seen = []
    class Count(mf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
    model.fit(X, y, epochs=3, batch_size=10, verbose=0, callbacks=[StopOnRank1(), Count()])
    json.dump(seen, open(f"{out}/seen{rank}.json", "w"))
    """
    run(2, FAILS_TOGETHER + textwrap.dedent(body), tmp_path, timeout=60)
    for rank in (0, 1):
        assert json.loads((tmp_path / f"seen{rank}.json").read_text()) == [0, 1, 2, 3]


@needs_mpi
@pytest.mark.parametrize(
    ("ranks", "failing", "hook", "error"),
    [
        (2, 1, "on_train_batch_end", 'KeyError("the user\'s callback failed")'),
        (2, 1, "on_epoch_end", 'KeyError("the user\'s callback failed")'),
        (2, 1, "on_train_begin", 'KeyError("the user\'s callback failed")'),
        (3, 2, "on_epoch_end", 'MemoryError("the user\'s callback failed")'),
    ],
)
def test_a_callback_raising_on_one_rank_ends_the_job_naming_the_rank(
    ranks, failing, hook, error, tmp_path
):
    arguments = "self, logs=None" if hook == "on_train_begin" else "self, index, logs=None"
    result = run(
        ranks,
        f"""
        from mpi4py import MPI
        rank = MPI.COMM_WORLD.Get_rank()
        class Fails(mf.callbacks.Callback):
            def {hook}({arguments}):
                if rank == {failing}:
                    raise {error}
        model = network()
        model.compile("sgd", "mse", distribute=DataParallel())
        model.fit(X, y, epochs=3, batch_size=12, verbose=0, callbacks=[Fails()])
        """,
        tmp_path,
        timeout=60,
        fails=True,
    )
    kind = error.split("(")[0]
    assert f"rank {failing} of {ranks} failed during training ({kind}: " in result.stderr
    assert "the user's callback failed" in result.stderr and "MPI.Abort" in result.stderr


@needs_mpi
def test_a_non_finite_loss_mid_training_on_one_rank_raises_on_every_rank_in_time(tmp_path):
    body = """
    Xr, yr = X, y.copy()
    model.build((None, 5))
    class Overflow(mf.callbacks.Callback):  # rank 1's weights go to inf in epoch 2
        def on_epoch_end(self, epoch, logs=None):
            if rank == 1 and epoch == 0:
                self.model.layers[-1].params["W"][...] = 1e308
    before = model.get_weights()
    report(
        lambda: model.fit(X, y, epochs=3, batch_size=10, verbose=0, callbacks=[Overflow()]),
        mf.errors.NonFiniteError,
    )
    """
    for text in run_together(body, tmp_path):
        assert text.startswith("The loss became") and "epoch 2, batch 1" in text


@needs_mpi
def test_with_three_ranks_the_one_that_differs_is_named(tmp_path):
    body = "Xr, yr = (X[:100], y[:100]) if rank == 2 else (X, y)\nfit_and_report()\n"
    for text in run_together(body, tmp_path, ranks=3):
        assert "rank 2 holds 100 rows of X, rank 0 103" in text


@needs_mpi
def test_after_a_distributed_fit_the_model_copies_checks_explains_and_saves(tmp_path):
    run(
        2,
        """
        model = network()
        model.compile("adam", "mse", distribute=DataParallel())
        model.fit(X, y, epochs=2, batch_size=10, verbose=0)
        rank = model.distribute.rank
        clone = model.copy()
        np.testing.assert_array_equal(clone.predict(X), model.predict(X))
        worst = max(mf.gradcheck(model, X[:8], y[:8]).values())
        assert worst < 1e-6, worst
        plain = mf.Sequential([mf.layers.Dense(3, activation="tanh"), mf.layers.Dense(1)],
                              dtype="float64", seed=0)
        plain.compile("sgd", "mse", distribute=DataParallel())
        plain.fit(X, y, epochs=1, batch_size=10, verbose=0)
        assert "∂L/∂w^1_11" in str(mf.explain(plain, X[0], y[0]))
        model.save(f"{out}/model.minifw")  # rank 0 writes
        MPI = model.distribute.MPI
        MPI.COMM_WORLD.Barrier()
        loaded = mf.load_model(f"{out}/model.minifw")
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        open(f"{out}/done{rank}", "w").write("ok")
        """,
        tmp_path,
        timeout=90,
    )
    assert (tmp_path / "done0").exists() and (tmp_path / "done1").exists()


def test_the_data_parallel_reducer_names_no_layer_class():
    """Whole-batch needs reach the layers as plan state, not as hooks written onto them."""
    import minifw.distributed

    tree = ast.parse(Path(minifw.distributed.__file__).read_text())
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert not used & set(mf.layers.LAYERS.classes)
    assert "BatchContext" in used  # what it gives the plan instead

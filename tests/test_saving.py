"""Model files: round trips, resumable training, atomic saves, and hostile or broken files."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from support import small_regression

import minifw as mf
from minifw import saving
from minifw.errors import ModelFileError


def trained_model(rng, seed=1) -> tuple[mf.Sequential, np.ndarray, np.ndarray]:
    X, y = small_regression(rng, n=24)
    model = mf.Sequential(
        [
            mf.layers.Dense(6, activation="relu"),
            mf.layers.Dropout(0.25),
            mf.layers.BatchNormalization(),
            mf.layers.Dense(1),
        ],
        seed=seed,
    )
    model.compile(mf.optimizers.Adam(0.01), "mse", metrics=["mae"])
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    return model, X, y


@pytest.fixture
def saved(tmp_path, rng):
    model, X, y = trained_model(rng)
    path = tmp_path / "model.minifw"
    model.save(path)
    return model, path, X, y


def rewrite(path, *, header=None, members=None) -> None:
    """Replace the JSON header (a function of it) or some members of a saved file."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    if header is not None:
        config = json.loads(contents[saving.HEADER])
        header(config)
        contents[saving.HEADER] = json.dumps(config).encode()
    contents.update(members or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def test_round_trip_gives_identical_predictions_config_and_optimizer_state(saved):
    model, path, X, _ = saved
    loaded = mf.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_config() == model.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for key, value in model.optimizer.state.items():
        np.testing.assert_array_equal(loaded.optimizer.state[key], value)
    assert [name for name, _ in loaded.metrics] == ["mae"]
    assert not np.shares_memory(loaded.parameters.params, model.parameters.params)
    assert os.listdir(path.parent) == ["model.minifw"]  # exactly the path, no suffix added


def test_fit_two_epochs_equals_fit_one_save_load_fit_one_bit_for_bit(tmp_path, rng):
    X, y = small_regression(rng, n=40)
    straight, _, _ = trained_model(np.random.default_rng(5))
    resumed, _, _ = trained_model(np.random.default_rng(5))
    straight.fit(X, y, epochs=2, batch_size=8, verbose=0)
    resumed.fit(X, y, epochs=1, batch_size=8, verbose=0)
    resumed.save(tmp_path / "checkpoint")
    resumed = mf.load_model(tmp_path / "checkpoint")
    resumed.fit(X, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_weights_and_load_weights_round_trip_and_check_the_model(tmp_path, saved):
    model, _, X, _ = saved
    model.save_weights(tmp_path / "weights.npz")
    twin = mf.Sequential.from_config(model.get_config())
    twin.load_weights(tmp_path / "weights.npz")
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))
    other = mf.Sequential([mf.layers.Dense(3, input_dim=3), mf.layers.Dense(1)])
    before = other.get_weights()
    with pytest.raises(ModelFileError, match="the file holds weights"):
        other.load_weights(tmp_path / "weights.npz")
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_learning_rate_function_cannot_be_saved(tmp_path):
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)])
    model.compile(mf.optimizers.SGD(lambda step: 0.1), "mse")
    with pytest.raises(ValueError, match="use a schedule from mf.schedules"):
        model.save(tmp_path / "m")
    assert os.listdir(tmp_path) == []
    model.compile(mf.optimizers.SGD(mf.schedules.StepDecay(0.1, 10)), "mse")
    model.save(tmp_path / "m")
    assert isinstance(mf.load_model(tmp_path / "m").optimizer.learning_rate, mf.schedules.StepDecay)


# -- atomic saves ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("writer failed"),
        OSError(errno.ENOSPC, "No space left on device"),
        KeyboardInterrupt(),
    ],
    ids=["exception", "full disk", "ctrl-c"],
)
def test_an_interrupted_save_keeps_the_old_file_and_leaves_no_temporary(
    saved, monkeypatch, failure
):
    model, path, X, _ = saved
    old_bytes = path.read_bytes()
    calls = []

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise failure
        return real_write(*args, **kwargs)

    real_write = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    model.fit(X, X[:, :1], epochs=1, verbose=0)  # the weights change
    with pytest.raises(type(failure)):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert os.listdir(path.parent) == ["model.minifw"]
    mf.load_model(path)


# -- files that must be refused ----------------------------------------------------------


def assert_refused(path, match: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=match):
        mf.load_model(path)
    assert time.perf_counter() - start < 2.0


def test_truncations_at_many_offsets_are_refused(saved, tmp_path):
    _, path, _, _ = saved
    data = path.read_bytes()
    broken = tmp_path / "broken"
    for cut in sorted(
        {
            0,
            1,
            4,
            30,
            100,
            len(data) // 3,
            len(data) // 2,
            len(data) - 22,
            len(data) - 1,
            *range(50, len(data), max(1, len(data) // 40)),
        }
    ):
        broken.write_bytes(data[:cut])
        with pytest.raises(ModelFileError):
            mf.load_model(broken)


def test_random_bytes_and_text_files_are_not_model_files(tmp_path):
    random_file = tmp_path / "random"
    random_file.write_bytes(np.random.default_rng(0).bytes(5000))
    assert_refused(random_file, "not a minifw model file")
    text = tmp_path / "notes.txt"
    text.write_text("IQ, GPA, Salary\n60, 3.5, 40\n")
    assert_refused(text, "not a minifw model file")
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert_refused(other_zip, f"it has no {saving.HEADER}")


class _Payload:
    """Unpickling this creates a marker file: it must never happen."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_object_inside_is_never_run(saved, tmp_path):
    _, path, _, _ = saved
    marker = tmp_path / "pwned"
    payload = np.array([_Payload(str(marker))], dtype=object)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, payload, allow_pickle=True)
    rewrite(path, members={"arrays/0.npy": buffer.getvalue()})
    with pytest.raises(ModelFileError):
        mf.load_model(path)
    assert not marker.exists()
    rewrite(path, members={saving.HEADER: pickle.dumps(_Payload(str(marker)))})
    with pytest.raises(ModelFileError):
        mf.load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda h: h["model"]["layers"][0].update(class_name="Lambda"),
            "Unknown layer type 'Lambda'",
        ),
        (
            lambda h: h["model"]["layers"][0]["config"].update(units=7),
            r"shape mismatch for dense_1/W: the file has \(3, 6\), the model needs \(3, 7\)",
        ),
        (lambda h: h.update(format_version=2), "unsupported format version 2"),
        (lambda h: h.update(format="keras"), "not a minifw model file"),
        (
            lambda h: h["model"]["layers"][0]["config"].update(units=10**9),
            "declares .* parameters, but the file holds only",
        ),
        (lambda h: h["model"].update(input_shape=[10**12]), "declares .* parameters"),
        (
            lambda h: h["model"]["layers"][0]["config"].update(units="six"),
            "configuration is invalid",
        ),
        (lambda h: h["compile"]["optimizer"].update(class_name="os.system"), "Unknown optimizer"),
        (lambda h: h["compile"]["loss"]["config"].update(reduction="none"), "compile settings"),
        (lambda h: h["training"].update(optimizer_state=["m"]), "optimizer state holds"),
        (lambda h: h.update(weights=["a", "b"]), "the file holds weights"),
        (lambda h: h["training"].update(shuffle_rng={"bit_generator": "MT19937"}), "random state"),
    ],
    ids=[
        "unknown layer",
        "shape mismatch",
        "future version",
        "other format",
        "huge units",
        "huge input",
        "wrong type",
        "unknown optimizer",
        "bad loss",
        "optimizer state",
        "weight names",
        "rng state",
    ],
)
def test_bad_configurations_are_refused_with_a_message_naming_the_problem(saved, edit, message):
    _, path, _, _ = saved
    rewrite(path, header=edit)
    assert_refused(path, message)


def test_bad_arrays_are_refused_before_being_read(saved):
    _, path, _, _ = saved
    nan = io.BytesIO()
    np.lib.format.write_array(nan, np.full((3, 6), np.nan, dtype=np.float32))
    rewrite(path, members={"arrays/0.npy": nan.getvalue()})
    assert_refused(path, "dense_1/W holds NaN or infinite values")
    wrong_dtype = io.BytesIO()
    np.lib.format.write_array(wrong_dtype, np.zeros((3, 6), dtype=np.int64))
    rewrite(path, members={"arrays/0.npy": wrong_dtype.getvalue()})
    assert_refused(path, "has dtype int64, expected float32")
    huge = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        huge, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    rewrite(path, members={"arrays/0.npy": huge.getvalue()})
    assert_refused(path, r"shape mismatch for dense_1/W")
    rewrite(path, members={"arrays/0.npy": b"\x93NUMPY" + b"\x00" * 10**6})
    assert_refused(path, "declares .* bytes")


def test_a_missing_path_raises_the_usual_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        mf.load_model(tmp_path / "nowhere")


def test_fuzzed_files_raise_only_model_file_error(saved, tmp_path):
    _, path, _, _ = saved
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(2024)
    fuzzed = tmp_path / "fuzzed"
    outcomes = {"refused": 0, "loaded": 0}
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            position = int(rng.integers(0, len(mutated)))
            mutated[position] = int(rng.integers(0, 256))
        fuzzed.write_bytes(bytes(mutated))
        try:
            mf.load_model(fuzzed)
            outcomes["loaded"] += 1
        except ModelFileError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "member",
    ["arrays/99.npy", "data.pkl", "../x.npy", "/abs.npy", "a\\..\\..\\x.npy", "minifw.json/"],
)
def test_members_the_format_does_not_define_are_refused(saved, tmp_path, member):
    _, path, _, _ = saved
    outside = tmp_path.parent / "x.npy"
    payload = pickle.dumps({"x": 1}) if member.endswith(".pkl") else npy(np.zeros(3))
    rewrite(path, members={member: payload})
    started = time.perf_counter()
    assert_refused(path, "members the format does not define")
    assert time.perf_counter() - started < 2
    assert not outside.exists()


def test_two_members_with_one_name_are_refused(saved):
    _, path, _, _ = saved
    with zipfile.ZipFile(path) as archive:
        contents = [(name, archive.read(name)) for name in archive.namelist()]
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in [*contents, contents[1]]:
                archive.writestr(name, data)
    assert_refused(path, "more than one member named 'arrays/0.npy'")


def test_a_header_with_a_duplicate_key_is_refused(saved):
    _, path, _, _ = saved
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    text = contents[saving.HEADER].decode()
    contents[saving.HEADER] = ('{"format": "other", ' + text[1:]).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    assert_refused(path, "gives the key 'format' twice")


def test_a_big_endian_weight_array_is_accepted_and_converted(saved):
    model, path, X, _ = saved
    W = model.get_weights()[0]
    rewrite(path, members={"arrays/0.npy": npy(W.astype(W.dtype.newbyteorder(">")))})
    loaded = mf.load_model(path)
    assert loaded.get_weights()[0].dtype == W.dtype and loaded.get_weights()[0].dtype.isnative
    np.testing.assert_array_equal(loaded.get_weights()[0], W)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


SAVER = """
import sys, numpy as np, minifw as mf
path, units = sys.argv[1], int(sys.argv[2])
model = mf.Sequential([mf.layers.Dense(units, input_dim=3), mf.layers.Dense(1)], seed=units)
for _ in range(25):
    model.save(path)
"""


def test_two_processes_saving_to_one_path_always_leave_one_complete_model(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "shared.minifw"
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    writers = [
        subprocess.Popen([sys.executable, str(script), str(path), str(units)]) for units in (4, 7)
    ]
    loads = 0
    while any(writer.poll() is None for writer in writers):
        if path.exists():
            model = mf.load_model(path)  # never partial: raises on a torn file
            assert model.get_weights()[0].shape in ((3, 4), (3, 7))
            loads += 1
    assert all(writer.wait() == 0 for writer in writers)
    assert mf.load_model(path).get_weights()[0].shape in ((3, 4), (3, 7))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_header_whose_stream_inflates_past_its_declared_size_is_read_only_that_far(
    saved, tmp_path
):
    """A 'zip bomb' header: 64 MiB of JSON padding that declares 2 kB is never inflated."""
    _, path, _, _ = saved
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    padded = members[saving.HEADER] + b" " * 2**26
    bomb = tmp_path / "bomb.minifw"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(saving.HEADER, padded)
        for name, data in members.items():
            if name != saving.HEADER:
                archive.writestr(name, data)
    data = bytearray(bomb.read_bytes())
    declared = struct.pack("<I", 2048)
    local = data.index(b"PK\x03\x04")  # the header is the first member
    data[local + 22 : local + 26] = declared
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = declared
    bomb.write_bytes(bytes(data))
    assert bomb.stat().st_size < 2**20
    tracemalloc.start()
    try:
        assert_refused(bomb, "CRC|declares|not valid JSON|corrupt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20 < len(padded)


def test_an_encrypted_member_is_refused_by_name(saved):
    _, path, _, _ = saved
    data = bytearray(path.read_bytes())
    position = 0
    while (position := data.find(b"PK\x01\x02", position)) >= 0:  # every central entry
        data[position + 8] |= 0x1  # general purpose flag: encrypted
        position += 4
    path.write_bytes(bytes(data))
    assert_refused(path, "is encrypted")


def test_an_image_model_whose_input_shape_is_edited_huge_allocates_nothing_to_load(tmp_path):
    model = mf.Sequential(
        [
            mf.layers.Conv2D(2, 3, padding="same", input_shape=(8, 8, 1)),
            mf.layers.AveragePooling2D(3, strides=2, padding="same"),
            mf.layers.MaxPooling2D(3, strides=2, padding="same"),
            mf.layers.GlobalAveragePooling2D(),
            mf.layers.Dense(1),
        ]
    )
    model.compile("sgd", "mse")
    path = tmp_path / "cnn.minifw"
    model.save(path)
    rewrite(path, header=lambda config: config["model"].update(input_shape=[8000, 8000, 1]))
    tracemalloc.start()
    try:
        loaded = mf.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded.input_shape == (None, 8000, 8000, 1)
    assert peak < 4 * 2**20  # an 8000 × 8000 float32 image alone is 244 MiB


def test_a_save_killed_outright_leaves_a_temporary_that_the_next_save_removes(tmp_path, rng):
    model, _, _ = trained_model(rng)
    path = tmp_path / "model.minifw"
    killed = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                            capture_output=True, text=True, check=True)
    dead_pid = int(killed.stdout)  # a process that has ended
    stale = tmp_path / f".model.minifw.{dead_pid}.abc123.tmp"
    stale.write_bytes(b"half a model")
    alive = tmp_path / f".model.minifw.{os.getpid()}.def456.tmp"  # a save in progress
    alive.write_bytes(b"being written")
    other = tmp_path / f".other.minifw.{dead_pid}.abc123.tmp"  # another target's
    other.write_bytes(b"not ours")
    model.save(path)
    assert not stale.exists() and alive.exists() and other.exists()
    mf.load_model(path)


def test_saving_into_a_missing_folder_names_the_path_given(tmp_path, rng):
    model, _, _ = trained_model(rng)
    target = tmp_path / "no such folder" / "model.minifw"
    with pytest.raises(FileNotFoundError, match="the folder .*no such folder' does not exist"):
        model.save(target)
    with pytest.raises(FileNotFoundError, match=r"Cannot write .*model\.weights"):
        model.save_weights(tmp_path / "missing" / "model.weights")
    assert not (tmp_path / "no such folder").exists()


def test_the_column_names_of_a_fit_are_saved_and_loaded(tmp_path, rng):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(rng.normal(size=(12, 3)), columns=["age", "income", "debt"])
    model = mf.Sequential([mf.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(frame, rng.normal(size=12), verbose=0)
    model.save(tmp_path / "named.minifw")
    loaded = mf.load_model(tmp_path / "named.minifw")
    assert loaded.feature_names_in_ == ("age", "income", "debt")
    with pytest.raises(ValueError, match="another order"):
        loaded.predict(frame[["income", "age", "debt"]])

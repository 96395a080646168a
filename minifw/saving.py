"""Model files: safe by construction, written atomically.

A model file is a zip archive holding ``minifw.json`` (format name and
version, the model's config, its compile settings and training state) and
one ``.npy`` member per array (weights, non-trainable state, optimizer
state). Nothing in it can run code:

- arrays are read with ``allow_pickle=False``, and only the members the
  JSON names, each checked against the shape and dtype the model implies
  *before* it is decompressed;
- layers, optimizers, losses and the rest are rebuilt only from minifw's own
  registered classes (an allow-list), from plain JSON values;
- sizes are bounded (the JSON header, each member, the whole file), so a
  crafted file cannot make the reader allocate or decompress without limit;
- every problem with a file's content raises ``minifw.errors.ModelFileError``
  (a ValueError) naming it; a missing or unreadable path raises the usual
  OSError.

Saving writes a temporary file beside the target, flushes and fsyncs it, then
renames it over the target, so an error, a full disk or Ctrl-C during a save
leaves the previous file as it was and no temporary file behind.

A weights file (``save_weights``) has the same layout with only the arrays.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import losses, optimizers
from .atomic import write_atomically
from .errors import ModelFileError
from .layers import LAYERS
from .losses import LOSSES
from .metrics import METRICS
from .optimizers import OPTIMIZERS
from .registry import MODELS, custom_object_scope

if TYPE_CHECKING:
    from .model import Sequential

FORMAT = "minifw"
WEIGHTS_FORMAT = "minifw-weights"
FORMAT_VERSION = 1
HEADER = "minifw.json"

# Limits that keep a crafted file from exhausting memory.
MAX_HEADER_BYTES = 16 * 2**20
MAX_FILE_BYTES = 2**34  # 16 GiB
MAX_NPY_HEADER_BYTES = 4096
_DTYPES = ("float32", "float64")


# -- writing -----------------------------------------------------------------------------


def save_model(model: Sequential, path: str | os.PathLike) -> None:
    """Write ``model`` (config, weights, compile settings, optimizer state) to ``path``.

    Refused before anything is written when ``load_model`` could not rebuild it: a
    class of one's own that is not registered (TypeError naming it and its decorator).
    """
    _check_loadable(model)
    arrays = _weight_arrays(model)
    weight_names = list(arrays)
    training = _training_state(model, arrays)  # adds the optimizer's arrays after the weights
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.get_config(),
        "weights": weight_names,
        "compile": _compile_config(model),
        "training": training,
    }
    _write(path, header, arrays)


def _check_loadable(model: Sequential) -> None:
    """TypeError unless every class the file would name is registered (layers, their
    activations, the optimizer, the loss) and the configs rebuild (initializers,
    regularizers, schedules within them), with the same classes."""
    for layer in model.layers:
        LAYERS.check_registered(layer)
        if getattr(layer, "activation", None) is not None:
            LAYERS.check_registered(layer.activation)
    MODELS.check_registered(model)
    if model.optimizer is not None:
        OPTIMIZERS.check_registered(model.optimizer)
        LOSSES.check_registered(model.loss)
    compile_config = _compile_config(model, quiet=True)
    try:
        with custom_object_scope(None):
            rebuilt = type(model).from_config(model.get_config(), build=False)
            if compile_config is not None:
                optimizers.get(compile_config["optimizer"])
                losses.get(compile_config["loss"])
    except (TypeError, ValueError) as error:
        raise TypeError(f"model.save: {error} Nothing was written.") from None
    for layer, again in zip(model.layers, rebuilt.layers):
        if type(again) is not type(layer):
            raise TypeError(
                f"model.save: the layer {layer.name} ({type(layer).__name__}) would load as "
                f"{type(again).__module__}.{type(again).__name__}: register your class with "
                "@mf.layers.register under a name of its own. Nothing was written."
            )


def save_weights(model: Sequential, path: str | os.PathLike) -> None:
    """Write only the arrays of ``get_weights()`` (with their names) to ``path``."""
    arrays = _weight_arrays(model)
    header = {"format": WEIGHTS_FORMAT, "format_version": FORMAT_VERSION, "weights": list(arrays)}
    _write(path, header, arrays)


def _weight_arrays(model: Sequential) -> dict[str, np.ndarray]:
    return dict(zip(model.weight_names, model.get_weights()))


def _compile_config(model: Sequential, quiet: bool = False) -> dict | None:
    """The optimizer, the loss and the metrics by name (a function by its registered name;
    an unregistered one is left out, with a warning unless ``quiet``)."""
    if model.optimizer is None or model.loss is None:
        return None
    specs = model.metric_names
    names = [spec if isinstance(spec, str) else METRICS.name_of(spec) for spec in specs]
    saved = [name for name in names if name is not None]
    if len(saved) < len(specs) and not quiet:
        warnings.warn(
            "Metrics given as functions are saved only when registered "
            "(@mf.metrics.register); compile the loaded model again to report the others.",
            stacklevel=3,
        )
    return {
        "optimizer": {
            "class_name": type(model.optimizer).__name__,
            "config": model.optimizer.get_config(),
        },
        "loss": {"class_name": type(model.loss).__name__, "config": model.loss.get_config()},
        "metrics": saved,
        "jit_compile": bool(model.jit_compile),
        "steps_per_execution": model.steps_per_execution,
    }


def _training_state(model: Sequential, arrays: dict[str, np.ndarray]) -> dict:
    """``model.training_state()`` as JSON, its optimizer arrays added to ``arrays``.

    An optimizer state that no longer fits the trainable parameters (a layer was frozen
    or unfrozen after training began; training needs a new compile) is left out with a
    warning: the loaded model starts with a fresh optimizer, as after that compile."""
    state = model.training_state()
    optimizer_arrays = state.pop("optimizer_state")
    trainable = model.parameters.params.size
    if any(value.size != trainable for value in optimizer_arrays.values()):
        warnings.warn(
            "A layer's `trainable` flag changed after training began: the optimizer's state "
            "fits the old trainable parameters and is not saved. The loaded model starts "
            "with a fresh optimizer, as after model.compile.",
            UserWarning,
            stacklevel=4,
        )
        optimizer_arrays, state["optimizer_iterations"] = {}, 0
    for key, value in optimizer_arrays.items():
        arrays[f"optimizer/{key}"] = value
    return {**state, "optimizer_state": list(optimizer_arrays)}


def _write(path: str | os.PathLike, header: dict, arrays: dict[str, np.ndarray]) -> None:
    def write(file) -> None:
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(HEADER, json.dumps(header))
            for index, array in enumerate(arrays.values()):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
                archive.writestr(_member(index), buffer.getvalue())

    write_atomically(path, write)


def _member(index: int) -> str:
    return f"arrays/{index}.npy"


# -- reading -----------------------------------------------------------------------------

# What a corrupt or hostile file can make the standard library and NumPy raise.
_CORRUPTION = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    zipfile.LargeZipFile,
    EOFError,
    NotImplementedError,  # zip features no writer of model files uses
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    MemoryError,
    RecursionError,
    UnicodeDecodeError,
    NotImplementedError,
)


def load_model(
    path: str | os.PathLike, custom_objects: dict[str, type] | None = None
) -> Sequential:
    """Rebuild the model saved at ``path``: layers, weights, compile settings, optimizer state.

    Classes of one's own are found in their kind's catalogue (``@mf.optimizers.register``
    and the like) or in ``custom_objects`` (``{"Lion": Lion}``, Keras's spelling); no
    other class is ever built, and no module a file names is imported.

    Raises
    ------
    ModelFileError
        The file is not a minifw model file, is truncated or corrupt, names an
        unknown layer or class, or holds arrays that do not fit the model.
    """
    with custom_object_scope(custom_objects), _reading(path) as archive:
        header = _read_header(archive, FORMAT)
        try:
            config = header["model"]
            model_class = MODELS.by_class_name(config.get("class_name", "Sequential"))
            model = model_class.from_config(config, build=False)
            _check_size(model, config, archive, path)
            model.build((None, *config["input_shape"]))
        except (KeyError, TypeError, ValueError, RecursionError) as error:
            raise ModelFileError(f"{path}: the model's configuration is invalid: {error}") from None
        weights = _read_arrays(archive, header, _expected(model), path)
        compile_config = header.get("compile")
        training = header.get("training", {})
        if not isinstance(training, dict):
            raise ModelFileError(f"{path}: the training state must be a JSON object.")
        optimizer_state = {}
        if compile_config is not None:
            optimizer_state = _restore_compile(
                model, compile_config, training, archive, header, path
            )
        _restore_training_state(model, training, optimizer_state, path)
        _check_array_count(archive, len(weights) + len(optimizer_state))
        model.set_weights(list(weights.values()))
    return model


def load_weights(model: Sequential, path: str | os.PathLike) -> None:
    """Set ``model``'s weights from a file written by ``save_weights`` (or ``save``).

    Every array is checked against the model before any weight is written.
    """
    with _reading(path) as archive:
        header = _read_header(archive, FORMAT, WEIGHTS_FORMAT)
        weights = _read_arrays(archive, header, _expected(model), path)
        training = header.get("training", {})
        state = training.get("optimizer_state", []) if isinstance(training, dict) else []
        _check_array_count(archive, len(weights) + (len(state) if isinstance(state, list) else 0))
    model.set_weights(list(weights.values()))


def _check_size(model: Sequential, config: dict, archive: zipfile.ZipFile, path) -> None:
    """Refuse a configuration that declares more parameters than the file holds, before
    anything is allocated (a small file must not make the reader build a huge model)."""
    shape = (None, *config["input_shape"])
    count = 0
    for layer in model.layers:
        count += layer.count_params_for(shape)
        shape = layer.compute_output_shape(shape)
    stored = sum(
        info.file_size for info in archive.infolist() if info.filename.startswith("arrays/")
    )
    if count * model.dtype.itemsize > stored:
        raise ModelFileError(
            f"{path}: the configuration declares {count} parameters, but the file holds only "
            f"{stored} bytes of arrays."
        )


def _expected(model: Sequential) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name → (shape, dtype) of every array the model needs, in ``get_weights`` order."""
    return {
        name: (weight.shape, weight.dtype.name)
        for name, weight in zip(model.weight_names, model.get_weights())
    }


class _reading:
    """Open ``path`` as a zip archive held in memory; content errors become ModelFileError."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = path

    def __enter__(self) -> zipfile.ZipFile:
        size = os.stat(self.path).st_size  # OSError for a missing or unreadable path
        if size > MAX_FILE_BYTES:
            raise ModelFileError(f"{self.path}: {size} bytes is larger than any model file.")
        data = Path(self.path).read_bytes()
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
        except _CORRUPTION as error:
            raise ModelFileError(
                f"{self.path}: not a minifw model file, or truncated ({_describe(error)})."
            ) from None
        return self.archive

    def __exit__(self, kind, value, traceback) -> bool:
        self.archive.close()
        if kind is None or issubclass(kind, ModelFileError):
            return False
        if issubclass(kind, _CORRUPTION):
            raise ModelFileError(f"{self.path}: corrupt model file ({_describe(value)}).") from None
        return False


def _describe(error: BaseException) -> str:
    text = str(error) or "no detail"
    return f"{type(error).__name__}: {text[:200]}"


def _read_header(archive: zipfile.ZipFile, *formats: str) -> dict:
    encrypted = [info.filename for info in archive.infolist() if info.flag_bits & 0x1]
    if encrypted:
        raise ModelFileError(f"the member {encrypted[0]!r} is encrypted; model files never are.")
    try:
        info = archive.getinfo(HEADER)
    except KeyError:
        raise ModelFileError(f"not a minifw model file: it has no {HEADER}.") from None
    if info.file_size > MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{HEADER} declares {info.file_size} bytes, more than the limit of {MAX_HEADER_BYTES}."
        )
    with archive.open(info) as file:  # at most the declared size is inflated, never more
        data = file.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ModelFileError(f"{HEADER} does not hold the {info.file_size} bytes it declares.")
    try:
        header = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{HEADER} is not valid JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") not in formats:
        found = header.get("format") if isinstance(header, dict) else None
        raise ModelFileError(
            f"not a minifw model file (format {found!r}, expected {formats[0]!r})."
        )
    _check_member_names(archive)
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"invalid format version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"unsupported format version {version}: this minifw reads version {FORMAT_VERSION} "
            "and older. Upgrade minifw to load it."
        )
    return header


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as a dict, refusing a key given twice (which value counts would be
    up to the reader: one reader could check one value and another use the other)."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise ModelFileError(f"{HEADER} gives the key {key!r} twice.")
        result[key] = value
    return result


_ARRAY_MEMBER = re.compile(r"arrays/(0|[1-9][0-9]*)\.npy")


def _check_member_names(archive: zipfile.ZipFile) -> None:
    """Only the header and ``arrays/<i>.npy`` members, each once: no extra file (a
    ``data.pkl``, a ``../x.npy``), no name given twice."""
    names = archive.namelist()
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ModelFileError(f"the file holds more than one member named {duplicates[0]!r}.")
    unexpected = sorted(
        name for name in names if name != HEADER and not _ARRAY_MEMBER.fullmatch(name)
    )
    if unexpected:
        raise ModelFileError(
            f"the file holds members the format does not define: {unexpected[:5]!r}."
        )


def _check_array_count(archive: zipfile.ZipFile, count: int) -> None:
    """Exactly ``arrays/0.npy`` … ``arrays/<count − 1>.npy``: none unread, none extra."""
    found = {name for name in archive.namelist() if name != HEADER}
    expected = {_member(index) for index in range(count)}
    if found != expected:
        extra = sorted(found - expected)
        raise ModelFileError(
            f"the file holds members the format does not define: {extra[:5]!r} "
            f"(its header names {count} arrays)."
        )


def _read_arrays(archive, header, expected, path) -> dict[str, np.ndarray]:
    """The weight arrays named in the header, each checked against ``expected``."""
    names = header.get("weights")
    if not isinstance(names, list) or names != list(expected):
        raise ModelFileError(
            f"{path}: the file holds weights {names!r} but the model has {list(expected)}."
        )
    return {
        name: _read_array(archive, _member(index), shape, dtype, name)
        for index, (name, (shape, dtype)) in enumerate(expected.items())
    }


def _read_array(archive, member: str, shape: tuple, dtype: str, label: str) -> np.ndarray:
    """One .npy member, after checking its declared size, header, shape and dtype."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ModelFileError(f"the array {label} is missing from the file.") from None
    expected_bytes = math.prod(shape) * np.dtype(dtype).itemsize
    if info.file_size > expected_bytes + MAX_NPY_HEADER_BYTES:
        raise ModelFileError(
            f"the array {label} declares {info.file_size} bytes; shape {shape} needs "
            f"{expected_bytes}."
        )
    with archive.open(info) as file:
        version = np.lib.format.read_magic(file)
        reader = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }.get(version)
        if reader is None:
            raise ModelFileError(f"the array {label} has an unsupported .npy version {version}.")
        found_shape, fortran, found_dtype = reader(file, max_header_size=MAX_NPY_HEADER_BYTES)
        if found_dtype.name != dtype or found_dtype.hasobject:
            raise ModelFileError(f"the array {label} has dtype {found_dtype}, expected {dtype}.")
        if tuple(found_shape) != tuple(shape):
            raise ModelFileError(
                f"shape mismatch for {label}: the file has {tuple(found_shape)}, "
                f"the model needs {tuple(shape)}."
            )
        data = file.read(expected_bytes + 1)
    if len(data) != expected_bytes:
        raise ModelFileError(f"the array {label} is truncated or too long.")
    array = np.frombuffer(data, dtype=found_dtype).reshape(
        found_shape, order="F" if fortran else "C"
    )
    if not np.isfinite(array).all():
        raise ModelFileError(f"the array {label} holds NaN or infinite values.")
    # writable, owning its memory, in native byte order (a big-endian array is converted)
    return np.array(array, dtype=np.dtype(dtype), order="C")


def _restore_compile(model, config, training, archive, header, path) -> dict[str, np.ndarray]:
    """Compile ``model`` as saved; returns the optimizer's state arrays, each checked."""
    try:
        optimizer = optimizers.get(config["optimizer"])
        loss = losses.get(config["loss"])
        metrics = config.get("metrics", [])
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ValueError(f"metrics must be a list of names, got {metrics!r}")
        # a model trained compiled loads compiled where numba is installed, else on NumPy
        engine = "auto" if config.get("jit_compile", False) else False
        steps = config.get("steps_per_execution", 1)
        model.compile(
            optimizer, loss, metrics=metrics, jit_compile=engine, steps_per_execution=steps
        )
        iterations = training.get("optimizer_iterations", 0)
        keys = training.get("optimizer_state", [])
        if not isinstance(iterations, int) or iterations < 0 or not isinstance(keys, list):
            raise ValueError("invalid optimizer state")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFileError(f"{path}: the compile settings are invalid: {error}") from None
    params = model.parameters.params
    expected_keys = list(optimizer.init_state(params)) if iterations else []
    if keys != expected_keys:
        raise ModelFileError(
            f"{path}: the optimizer state holds {keys}, {type(optimizer).__name__} needs "
            f"{expected_keys}."
        )
    start = len(header["weights"])
    return {
        key: _read_array(
            archive, _member(start + i), params.shape, model.dtype.name, f"optimizer/{key}"
        )
        for i, key in enumerate(keys)
    }


def _restore_training_state(model, training, optimizer_state, path) -> None:
    try:
        model.restore_training_state({**training, "optimizer_state": optimizer_state})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFileError(f"{path}: the saved random state is invalid: {error}") from None

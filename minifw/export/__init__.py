"""Model export: ``model.export(path, format="onnx")`` (``minifw.export.onnx``)."""

from __future__ import annotations

import os

from .onnx import CONVERTERS, DEFAULT_OPSET, export_onnx

__all__ = ["CONVERTERS", "DEFAULT_OPSET", "export_model"]

FORMATS = {"onnx": export_onnx}


def export_model(model, path: str | os.PathLike, format: str, opset: int | None) -> None:
    exporter = FORMATS.get(format.lower() if isinstance(format, str) else format)
    if exporter is None:
        raise ValueError(f"export: unknown format {format!r}. Expected one of: 'onnx'.")
    exporter(model, path, opset)

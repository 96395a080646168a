"""docs/backprop.md quotes the code that computes each formula: every quote must stand in
the named file, and be a line that ``fit`` runs."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import lecture_model

import minifw as mf

ROOT = Path(__file__).parent.parent


def quoted_code(markdown: str) -> list[tuple[str, str]]:
    """(file, code) for every ``minifw/...py`` — `code` (and `code`) reference."""
    pairs = []
    for paragraph in markdown.split("\n\n"):
        match = re.search(r"`(minifw/[\w/]+\.py)` —(.*)", paragraph, re.S)
        if match:
            path, rest = match.groups()
            pairs += [(path, code) for code in re.findall(r"`([^`]+)`", rest)]
    return pairs


def lines_run_by(train) -> set[tuple[str, int]]:
    """(file, line) of every line of minifw that ``train()`` executes."""
    package = str(ROOT / "minifw")
    executed: set[tuple[str, int]] = set()

    def trace(frame, event, arg):
        if not frame.f_code.co_filename.startswith(package):
            return None
        if event == "line":
            executed.add((frame.f_code.co_filename, frame.f_lineno))
        return trace

    previous = sys.gettrace()  # a coverage tool's tracer, say: put back afterwards
    sys.settrace(trace)
    try:
        train()
    finally:
        sys.settrace(previous)
    return executed


def train_the_lecture_and_a_tanh_network() -> None:
    X, y = mf.datasets.salary()
    lecture_model().fit(X, y, epochs=1, batch_size=1, shuffle=False, verbose=0)
    tanh = mf.Sequential(
        [mf.layers.Dense(3, input_dim=2, activation="tanh"), mf.layers.Dense(1)],
        dtype="float64",
        seed=0,
    )
    tanh.compile(mf.optimizers.SGD(learning_rate=1e-3), "mse")
    tanh.fit((X - X.mean(0)) / X.std(0), y, epochs=1, batch_size=2, verbose=0)


PAIRS = quoted_code((ROOT / "docs" / "backprop.md").read_text(encoding="utf-8"))


def test_every_line_quoted_in_backprop_md_is_in_the_named_file():
    assert len(PAIRS) >= 8
    for path, code in PAIRS:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert code in source, f"{code!r} is no longer in {path}"


def test_every_line_quoted_in_backprop_md_is_run_by_fit():
    executed = lines_run_by(train_the_lecture_and_a_tanh_network)
    for path, code in PAIRS:
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        numbers = [number for number, line in enumerate(lines, 1) if code in line]
        assert numbers, f"{code!r} is not one line of {path}"
        filename = str(ROOT / path)
        assert any((filename, n) in executed for n in numbers), (
            f"{path}: {code!r} is quoted in docs/backprop.md but fit does not run it"
        )


def test_the_trace_sees_a_line_fit_does_not_run():
    """The check above can fail: a line fit never reaches is not in the trace."""
    executed = lines_run_by(train_the_lecture_and_a_tanh_network)
    path = ROOT / "minifw" / "training" / "lbfgs.py"
    lbfgs_lines = {n for f, n in executed if f == str(path)}
    assert executed and not lbfgs_lines


def test_the_architecture_page_names_every_module():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = page.split("```", 2)[1]
    for path in sorted((ROOT / "minifw").rglob("*.py")):
        assert re.search(rf"\b{re.escape(path.name)}\b", listed), f"{path} is not listed"
    for package in ("layers/", "training/", "export/", "teaching/", "explain/"):
        assert package in listed


def test_every_relative_link_and_image_in_the_readme_and_docs_is_a_committed_file():
    """An ignored or missing file shows on this machine and nowhere else (the README's
    screenshot was once ignored by *.png)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    tracked = set(listed.stdout.split("\n")) if listed.returncode == 0 else None
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s#]+)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (page.parent / target).resolve().relative_to(ROOT.resolve()).as_posix()
            exists = (ROOT / path).exists() if tracked is None else (
                path in tracked or any(name.startswith(path + "/") for name in tracked)
            )
            if not exists:
                broken.append(f"{page.name} -> {target}")
    assert not broken, broken


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    """make docs: every guide page, the examples and the API reference, mkdocs --strict."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install 'minifw[docs]')")
    pytest.importorskip("mkdocstrings", reason="pip install 'minifw[docs]'")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "Σ_i o_i · w_ij" in api  # Dense's formula-first docstring, rendered


def test_the_api_page_lists_every_public_name():
    """Every name in minifw.__all__, and in the __all__ of each of its modules."""
    import minifw.distributed
    import minifw.sklearn
    import minifw.training

    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    modules = [minifw.distributed, minifw.sklearn, minifw.training]
    for name in mf.__all__:
        value = getattr(mf, name)
        if inspect.ismodule(value):
            modules.append(value)
        else:
            assert f"::: minifw.{name}\n" in page, f"minifw.{name} is not on the API page"
    for module in modules:
        for name in module.__all__:
            assert f"::: {module.__name__}.{name}\n" in page, f"{module.__name__}.{name}"

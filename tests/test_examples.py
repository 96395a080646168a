"""Every example runs top to bottom and prints what its docstring promises."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_and_prints_its_documented_first_lines(path, capsys):
    runpy.run_path(str(path), run_name="__main__")
    printed = capsys.readouterr().out
    doc = path.read_text(encoding="utf-8").split('"""')[1]
    expected = doc.split("Expected output")[1].split(":", 1)[1].strip().splitlines()
    for line in expected:
        assert line.strip() in printed


def test_there_is_at_least_the_lecture_example():
    assert any(path.name == "01_salary_2_2_1.py" for path in EXAMPLES)

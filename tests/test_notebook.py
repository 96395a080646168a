"""The lecture notebook runs top to bottom in a real kernel (nbclient), and what it shows
displays itself: the page with scoped style, figures as images, the summary once."""

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_the_lecture_notebook_runs_and_shows_pages_images_and_one_summary(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed")
    pytest.importorskip("matplotlib")
    notebook = nbformat.read(ROOT / "examples" / "lecture.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    monkeypatch.setenv("MPLBACKEND", "agg")  # no display, and no %matplotlib inline anywhere
    client.execute()
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [cell.outputs for cell in cells]
    summary = outputs[0]
    assert [o.output_type for o in summary] == ["stream"]  # printed, not shown again
    assert "Total params: 9" in summary[0].text
    page = next(o for o in outputs[1] if o.output_type == "execute_result")
    html = page.data["text/html"]
    assert html.startswith('<div class="minifw-explain">')
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    rules = [line for line in style.splitlines() if "{" in line]
    assert rules and all(line.startswith(".minifw-explain") for line in rules)  # scoped
    for index in (2, 4, 5):  # step.plot(), run.plot(), surface.plot(): images, no magic
        result = next(o for o in outputs[index] if o.output_type == "execute_result")
        assert "image/png" in result.data
    assert (tmp_path / "lecture_run.html").stat().st_size < 2**20
    assert "∂L/∂w^1_11 = " in "".join(o.get("text", "") for o in outputs[3])
    assert "∂o_11/∂net^1_1" in "".join(o.get("text", "") for o in outputs[6])  # the sigmoid's
    softmax = next(o for o in outputs[7] if o.output_type == "execute_result")
    assert "∂L/∂z" in softmax.data["text/html"]

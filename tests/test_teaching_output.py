"""explain drawn and typeset: Markdown with LaTeX, a self-contained HTML page with the
network in SVG, a matplotlib figure, and the page in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from support import lecture_model

import minifw as mf

LECTURE_NUMBERS = ["63.5", "127", "7569", "174", "11049", "10440", "609"]


@pytest.fixture
def lecture_step():
    X, y = mf.datasets.salary()
    return mf.explain(lecture_model(), X[0], y[0])


def mazur_step():
    """Matt Mazur's "step by step backpropagation example": 2-2-2, sigmoid units,
    inputs 0.05, 0.10, targets 0.01, 0.99; η = 0.5. minifw's MSE over two outputs is his
    E = ½ Σ (t − o)²."""
    model = mf.Sequential(
        [
            mf.layers.Dense(2, input_dim=2, activation="sigmoid"),
            mf.layers.Dense(2, activation="sigmoid"),
        ],
        dtype="float64",
    )
    model.set_weights(
        [
            np.array([[0.15, 0.25], [0.20, 0.30]]),  # w1 (i1→h1), w3 (i1→h2); w2, w4
            np.array([0.35, 0.35]),
            np.array([[0.40, 0.50], [0.45, 0.55]]),  # w5 (h1→o1), w7 (h1→o2); w6, w8
            np.array([0.60, 0.60]),
        ]
    )
    model.compile(mf.optimizers.SGD(learning_rate=0.5), "mse")
    return mf.explain(model, [0.05, 0.10], [0.01, 0.99])


def test_mazurs_published_numbers_come_out_exactly():
    step = mazur_step()
    assert step.values["o_11"][0] == pytest.approx(0.593269992, abs=1e-9)  # out_h1
    assert step.values["y_hat_1"][0] == pytest.approx(0.75136507, abs=1e-8)  # out_o1
    assert step.loss == pytest.approx(0.298371109, abs=1e-9)  # E_total
    assert step.derivatives["∂L/∂w^2_11"].value == pytest.approx(0.082167041, abs=1e-9)
    assert step.updated["w^2_11"] == pytest.approx(0.35891648, abs=1e-8)  # w5⁺
    assert step.updated["w^2_21"] == pytest.approx(0.408666186, abs=1e-9)  # w6⁺
    assert step.updated["w^2_12"] == pytest.approx(0.511301270, abs=1e-9)  # w7⁺
    assert step.updated["w^2_22"] == pytest.approx(0.561370121, abs=1e-9)  # w8⁺
    assert step.updated["w^1_11"] == pytest.approx(0.149780716, abs=1e-9)  # w1⁺
    assert step.updated["w^1_21"] == pytest.approx(0.19956143, abs=1e-8)  # w2⁺
    assert step.updated["w^1_12"] == pytest.approx(0.24975114, abs=1e-8)  # w3⁺
    assert step.updated["w^1_22"] == pytest.approx(0.29950229, abs=1e-8)  # w4⁺


def formulas(markdown: str) -> list[str]:
    return re.findall(r"\$([^$]+)\$", markdown)


@pytest.mark.parametrize("make", ["lecture", "mazur"])
def test_markdown_holds_the_numbers_and_its_math_parses_as_latex(make, lecture_step):
    step = lecture_step if make == "lecture" else mazur_step()
    markdown = step.to_markdown()
    assert step._repr_markdown_() == markdown
    if make == "lecture":
        for value in LECTURE_NUMBERS:
            assert value in markdown
        assert r"\frac{\partial L}{\partial w^{2}_{11}}" in markdown
        assert "174 \\cdot 63.5 = 11049" in markdown
    for formula in formulas(markdown):
        assert formula.count("{") == formula.count("}"), formula
        assert formula.count("(") == formula.count(")"), formula
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")
    for formula in formulas(markdown):
        parser.parse(f"${formula}$")  # raises on LaTeX that matplotlib cannot read


class Page(HTMLParser):
    """Collects what the tests look at: tags, classes, external references."""

    def __init__(self):
        super().__init__()
        self.tags, self.classes, self.external, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        self.classes += (attributes.get("class") or "").split()
        for name in ("src", "href"):
            if name in attributes:
                self.external.append(attributes[name])

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("make", ["lecture", "mazur"])
def test_the_page_is_self_contained_with_one_svg_element_per_unit_and_weight(make, lecture_step):
    step = lecture_step if make == "lecture" else mazur_step()
    page = Page()
    page.feed(step.to_html())
    page.close()
    assert page.tags.count("svg") == 1 and "script" not in page.tags
    assert page.external == []  # no src or href: nothing fetched from elsewhere
    units = step.inputs + len(step.units)
    assert page.classes.count("unit") == units
    assert page.classes.count("bias") == step.layers  # the 1 that each layer's biases weigh
    assert page.classes.count("edge") == len(step.updates)  # every weight and bias
    fragment = step._repr_html_()
    assert "<html" not in fragment and "<svg" in fragment  # what a notebook shows
    text = "".join(page.text)
    if make == "lecture":
        for value in LECTURE_NUMBERS:
            assert value in text
        assert "The chain for w¹₁₁" in text and "174 · 1 · 60 = 10440" in text


def test_a_wide_network_labels_the_strongest_weight_of_each_unit():
    model = mf.Sequential(
        [
            mf.layers.Dense(8, input_dim=3, activation="tanh"),
            mf.layers.Dense(8, activation="tanh"),
            mf.layers.Dense(2),
        ],
        dtype="float64",
        seed=0,
    )
    model.compile("sgd", "mse")
    step = mf.explain(model, [0.5, -1.0, 2.0], [1.0, 0.0])
    page = Page()
    page.feed(step.to_html("w^2_34"))
    assert page.classes.count("edge") == 3 * 8 + 8 * 8 + 8 * 2 + 8 + 8 + 2  # and the biases
    assert page.classes.count("edge-label") == 8 + 8 + 2  # one per unit fed by > 8 weights
    assert page.classes.count("selected") == 1
    with pytest.raises(ValueError, match="no weight 'w\\^9_11'"):
        step.to_html("w^9_11")
    biased = Page()
    biased.feed(step.to_html("b_23"))  # a bias is drawn and selectable like a weight
    assert "The chain for b₂₃" in "".join(biased.text)


def test_the_figure_draws_every_unit_and_weight(lecture_step):
    pytest.importorskip("matplotlib")
    figure = lecture_step.plot()
    axes = figure.axes[0]
    units = [p for p in axes.patches if (p.get_gid() or "").startswith("unit")]
    edges = [line for line in axes.lines if (line.get_gid() or "").startswith("edge")]
    texts = " ".join(t.get_text() for t in axes.texts)
    assert len(units) == 5 and len(edges) == 9  # 6 weights and 3 biases
    assert "o₁₁" in texts and "63.5" in texts and "∂L/∂w = 10440" in texts


def test_the_figure_without_matplotlib_says_how_to_install_it(lecture_step, no_matplotlib):
    with pytest.raises(ImportError, match=r"pip install 'minifw\[plot\]'"):
        lecture_step.plot()


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    chromium() is None, reason="Chromium is not installed (apt-get install chromium)"
)
def test_a_real_browser_renders_the_page(lecture_step, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    page = tmp_path / "step.html"
    page.write_text(lecture_step.to_html(), encoding="utf-8")
    shot = tmp_path / "step.png"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1280,900",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (900, 1280)
    assert pixels[..., :3].std() > 0.05  # not blank: text, lines and circles drawn
    dark = (pixels[..., :3].mean(axis=2) < 0.3).mean()
    assert 0.005 < dark < 0.5


def test_demo_writes_the_lecture_page(tmp_path, capsys):
    from minifw.__main__ import main

    page = tmp_path / "lecture.html"
    main(["demo", "--epochs", "1", "--html", str(page)])
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "10440" in html
    assert str(page) in capsys.readouterr().out


def test_class_and_layer_names_reach_the_page_escaped(salary):
    X, y = salary
    Script = type("<script>alert(1)</script>", (mf.optimizers.SGD,), {})
    Image = type("<img src=x onerror=alert(2)>", (mf.losses.MSELoss,), {})
    model = mf.Sequential(
        [mf.layers.Dense(2, input_dim=2, name="<b>hidden</b>"), mf.layers.Dense(1)],
        dtype="float64",
    )
    model.compile(Script(1e-5), Image())
    step = mf.explain(model, X[0], y[0])
    for text in (step.to_html(), step._repr_html_(), step.to_markdown()):
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>hidden" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in step.to_html()


def test_the_figure_of_a_wide_layer_stays_a_bounded_size():
    pytest.importorskip("matplotlib")
    from minifw.teaching.explain.plot import MAX_FIGURE_INCHES

    model = mf.Sequential(
        [mf.layers.Dense(200, input_dim=3, activation="tanh"), mf.layers.Dense(1)], seed=0
    )
    model.compile("sgd", "mse")
    width, height = mf.explain(model, [0.5, -1.0, 2.0], [1.0]).plot().get_size_inches()
    assert width <= MAX_FIGURE_INCHES[0] and height <= MAX_FIGURE_INCHES[1]
    assert height > 1  # still drawn


def test_digits_writes_every_number_to_that_many_significant_digits(salary):
    X, y = salary
    model = mf.Sequential(
        [mf.layers.Dense(2, input_dim=2, kernel_initializer="ones"), mf.layers.Linear(),
         mf.layers.Dense(1, kernel_initializer="ones")],
        dtype="float64",
    )  # fmt: skip
    model.compile(mf.optimizers.SGD(learning_rate=1e-5), "mse")
    step = mf.explain(model, X[0], y[0], digits=3)
    text = str(step)
    assert "= (40 − 127)² = 7.57e+03" in text  # a whole number too
    assert "174 · 1 · 60 = 1.04e+04" in text and "= 0.896" in text
    assert "7.57e+03" in step.to_html() and "7569" not in step.to_html()
    assert "7.57 \\times 10^{3}" in step.to_markdown()
    assert step.derivatives["∂L/∂w^1_11"].value == 10440.0  # the values stay exact
    assert "= 7569" in str(mf.explain(model, X[0], y[0]))  # by default whole numbers in full
    with pytest.raises(ValueError, match="digits"):
        mf.explain(model, X[0], y[0], digits=0)


@pytest.mark.parametrize(
    "activation, written",
    [
        ("sigmoid", "∂o_11/∂net^1_1 = o_11·(1 − o_11) = 0.377541·(1 − 0.377541) = 0.235004"),
        ("tanh", "∂o_11/∂net^1_1 = 1 − (o_11)² = 1 − (−0.462117)² = 0.786448"),
        ("relu", "∂o_11/∂net^1_1 = [net^1_1 > 0] = [(−0.5) > 0] = 0"),
    ],
)
def test_every_chain_factor_is_written_as_its_formula_and_its_value(activation, written):
    model = mf.Sequential(
        [mf.layers.Dense(2, input_dim=2, activation=activation, kernel_initializer="ones"),
         mf.layers.Dense(1, kernel_initializer="ones")],
        dtype="float64",
    )  # fmt: skip
    model.compile(mf.optimizers.SGD(0.1), "mse")
    step = mf.explain(model, [0.5, -1.0], [1.0])
    text = str(step)
    assert written in text
    assert "∂y_hat/∂o_11 = w^2_11 = 1" in text and "∂net^1_1/∂w^1_21 = x_i2 = −1" in text
    assert "∂net^1_1/∂b_11 = 1\n" in text
    assert text.count("∂y_hat/∂o_11 = w^2_11") == 1  # each factor once, where first used
    assert "∂ŷ/∂o₁₁ = w²₁₁ = 1" in step.to_html()  # and beside the drawing

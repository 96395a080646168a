"""The training run as a lesson: Recorder keeps each step, its Trajectory replays it.

``explain(k)`` is checked against the lecture's published first step, against what fit
did (the next step's recorded weights), and the page in a real browser (Chromium driven
by selenium, skipped with a message without it).
"""

import re
import shutil

import numpy as np
import pytest

import minifw as mf
from minifw.teaching import Recorder
from minifw.teaching.explain.notation import number

L = mf.layers


def lecture_model():
    model = mf.Sequential(
        [L.Dense(2, input_dim=2, kernel_initializer="ones"), L.Linear(),
         L.Dense(1, kernel_initializer="ones")],
        dtype="float64",
    )  # fmt: skip
    model.compile(mf.optimizers.SGD(learning_rate=1e-5), "mse")
    return model


@pytest.fixture(scope="module")
def lecture_run():
    X, y = mf.datasets.salary()
    model, recorder = lecture_model(), Recorder()
    model.fit(X, y, epochs=1000, batch_size=1, shuffle=False, verbose=0, callbacks=[recorder])
    return model, recorder.trajectory


def test_the_lectures_4000_steps_are_kept_and_step_0_is_the_lecture(lecture_run):
    model, run = lecture_run
    assert len(run) == 4000 and list(run.indices[:3]) == [0, 1, 2]
    first = run.explain(0)
    assert first.loss == 7569.0  # L = (40 − 127)²
    assert first.derivatives["∂L/∂w^1_11"].value == 10440.0
    assert first.updated["w^1_11"] == pytest.approx(0.8956, rel=1e-12)
    assert run.losses[0] == 7569.0
    np.testing.assert_array_equal(run.weight("w^1_11")[:2], [1.0, 0.8956])
    # the last step's weights after it are the model's
    np.testing.assert_array_equal(run.steps[-1].after, model.parameters.params)


@pytest.mark.parametrize("k", [1, 2, 3, 1234, 3998])
def test_explain_k_is_what_fit_did_in_step_k(lecture_run, k):
    _, run = lecture_run
    step = run.explain(k)
    recorded, following = run.step(k), run.step(k + 1)
    assert step.loss == pytest.approx(recorded.loss, rel=1e-12)
    new = np.concatenate([np.ravel(w) for w in step.new_weights])
    np.testing.assert_allclose(new, following.params, rtol=1e-12)
    gradients = np.concatenate([np.ravel(g) for g in step.grads])
    np.testing.assert_allclose(gradients, recorded.gradients, rtol=1e-12)


def test_explain_k_of_an_adam_run_is_fits_step_with_its_state():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    model = mf.Sequential([L.Dense(4, activation="tanh"), L.Dense(1)], dtype="float64", seed=2)
    model.compile(mf.optimizers.Adam(0.05), "mse")
    recorder = Recorder()
    model.fit(X, y, epochs=3, batch_size=8, verbose=0, callbacks=[recorder])
    run = recorder.trajectory
    assert len(run) == 15
    for k in (0, 7, 13):
        step = run.explain(k)
        assert step.optimizer == "Adam" and not step.plain_update
        new = np.concatenate([np.ravel(w) for w in step.new_weights])
        np.testing.assert_allclose(new, run.step(k + 1).params, rtol=1e-12, atol=1e-15)
        assert set(run.step(k).optimizer_state) == ({"m", "v"} if k else set())  # made at step 0


def test_every_keeps_every_eth_step_and_names_the_nearest_kept():
    X, y = mf.datasets.salary()
    model, recorder = lecture_model(), Recorder(every=3)
    model.fit(X, y, epochs=5, batch_size=1, shuffle=False, verbose=0, callbacks=[recorder])
    run = recorder.trajectory
    assert list(run.indices) == [0, 3, 6, 9, 12, 15, 18]
    with pytest.raises(ValueError, match=r"step 4 was not kept.*nearest kept: 3, 6"):
        run.explain(4)
    model.fit(X, y, epochs=1, batch_size=1, shuffle=False, verbose=0, callbacks=[recorder])
    assert list(recorder.trajectory.indices[-2:]) == [18, 21]  # numbered across fits


def test_a_run_past_max_steps_is_refused_before_its_first_step():
    X, y = mf.datasets.salary()
    model = lecture_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"4000 steps.*max_steps=1000.*every=4"):
        model.fit(X, y, epochs=1000, batch_size=1, verbose=0, callbacks=[Recorder(max_steps=1000)])
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_a_compiled_model_is_refused_naming_the_engine():
    pytest.importorskip("numba")
    X, y = mf.datasets.salary()
    model = lecture_model()
    model.compile(mf.optimizers.SGD(1e-5), "mse", jit_compile=True)
    with pytest.raises(ValueError, match="jit_compile=False"):
        model.fit(X, y, epochs=1, batch_size=1, verbose=0, callbacks=[Recorder()])


def test_the_plot_draws_the_loss_and_the_weights(lecture_run):
    pytest.importorskip("matplotlib")
    figure = lecture_run[1].plot(("w^1_11", "w^2_11"))
    loss_axes, weight_axes = figure.axes
    assert len(loss_axes.lines) == 1 and len(weight_axes.lines) == 2
    with pytest.raises(ValueError, match="w\\^1_11"):
        lecture_run[1].weight("w^9_11")


def test_the_page_of_the_lectures_run_is_small_and_self_contained(lecture_run, tmp_path):
    _, run = lecture_run
    page = run.to_html(tmp_path / "run.html")
    assert (tmp_path / "run.html").read_text(encoding="utf-8") == page
    assert len(page.encode()) <= 2**20  # at most 1 MiB for 4000 steps
    assert "src=" not in page and "<link" not in page and "@import" not in page
    shown = page.split('<div id="shown">', 1)[1].split("</div>", 1)[0]
    assert "= 7569" in shown and "10440" in shown  # without script: step 0, written out
    with pytest.raises(ValueError, match="no weight"):
        run.to_html(selected="w^7_11")


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("Chromium or chromedriver is missing (Debian: chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


def test_in_a_browser_the_slider_shows_step_ks_numbers(lecture_run, tmp_path):
    _, run = lecture_run
    path = tmp_path / "run.html"
    run.to_html(path)
    driver = _browser()
    try:
        driver.get(path.as_uri())
        for k in (0, 2, 1234, 3999):
            driver.execute_script(
                "const s = document.getElementById('step'); s.value = arguments[0];"
                "s.dispatchEvent(new Event('input'));",
                k,
            )
            text = driver.find_element("id", "shown").text
            step = run.explain(k)
            loss = float(re.search(r"loss L = ([\d.e+−-]+)", text).group(1).replace("−", "-"))
            assert loss == pytest.approx(step.loss, rel=1e-6)
            for symbol in ("∂L/∂w¹₁₁", "∂L/∂b₂₁"):
                line = next(line for line in text.splitlines() if line.startswith(symbol + " ="))
                shown = float(line.rsplit("= ", 1)[1].replace("−", "-"))
                plain = symbol.replace("¹₁₁", "^1_11").replace("₂₁", "_21")
                assert shown == pytest.approx(step.derivatives[plain].value, rel=1e-5)
            update = next(line for line in text.splitlines() if line.startswith("w²₁₁ ←"))
            new = float(update.rsplit("= ", 1)[1].replace("−", "-"))
            assert new == pytest.approx(step.updated["w^2_11"], rel=1e-6)  # the new w
            assert f"step {k}" in driver.find_element("id", "label").text
            assert f"·{number(step.values['x_i1'][0])} +" in text  # o_11 = w·x_i1 + …
        driver.find_element("id", "play").click()
        driver.execute_script("return new Promise(r => setTimeout(r, 700));")
        assert driver.find_element("id", "label").text != "step 3999"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()


def test_in_firefox_the_pages_script_runs(lecture_run, tmp_path):
    """Firefox (Debian's firefox-esr) draws the page headless; its script ran when the
    page opened at #step=1234 differs from the page at step 0 (which is all there is
    without script)."""
    image = pytest.importorskip("matplotlib.image")
    firefox = shutil.which("firefox") or shutil.which("firefox-esr")
    if firefox is None:
        pytest.skip("Firefox is not installed (Debian: firefox-esr)")
    import subprocess

    page = tmp_path / "run.html"
    lecture_run[1].to_html(page)
    shots = []
    for k in (0, 1234):
        profile = tmp_path / f"profile{k}"
        profile.mkdir()
        shot = tmp_path / f"step{k}.png"
        subprocess.run(
            [firefox, "--headless", "--no-remote", "--profile", str(profile),
             "--window-size=1100,820", "--screenshot", str(shot), f"{page.as_uri()}#step={k}"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        shots.append(image.imread(shot)[..., :3])
    first, later = shots
    assert first.shape == later.shape and first.std() > 0.05  # drawn, not blank
    assert np.abs(first - later).max() > 0.5  # the script showed step 1234

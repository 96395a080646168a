"""python -m minifw demo: the lecture's numbers on the terminal."""

from __future__ import annotations

import subprocess
import sys

import pytest

from minifw.__main__ import main


def test_demo_prints_the_first_step_and_both_training_runs(capsys):
    main(["demo", "--epochs", "20"])
    out = capsys.readouterr().out
    assert "o_11 = w^1_11·x_i1 + w^1_21·x_i2 + b_11 = 1·60 + 1·3.5 + 0 = 63.5" in out
    assert "L = (y − y_hat)² = (40 − 127)² = 7569" in out
    assert "∂L/∂w^1_21 = ∂L/∂y_hat · ∂y_hat/∂o_11 · ∂o_11/∂w^1_21 = 174 · 1 · 3.5 = 609" in out
    assert "epoch     1: mean loss 4352.79" in out
    assert "Standardized features" in out and "IQ  90, GPA 3" in out


def test_demo_plot_without_matplotlib_says_how_to_install_it(no_matplotlib, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["demo", "--epochs", "2", "--plot", str(tmp_path / "loss.png")])
    assert stop.value.code == 2
    assert "pip install 'minifw[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "loss.png").exists()


def test_demo_plot_writes_a_png_when_matplotlib_is_installed(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "loss.png"
    main(["demo", "--epochs", "5", "--plot", str(path)])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_python_dash_m_minifw_demo_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, "-m", "minifw", "demo", "--epochs", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "∂L/∂y_hat = −2(y − y_hat) = −2(40 − 127) = 174" in result.stdout


def test_bad_arguments_exit_with_usage():
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "0"])
    with pytest.raises(SystemExit):
        main([])

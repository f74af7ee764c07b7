"""The ``sb3-ccddpg`` command line: train, resume, evaluate, figures (smoke run), clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.cli import main
from sb3_ccddpg.studies.training import TrainSettings, latest_checkpoint, resume, train

TINY = ["--n-uavs", "3", "--no-tensorboard"]


def test_console_script_is_installed() -> None:
    executable = shutil.which("sb3-ccddpg", path=str(Path(sys.executable).parent))
    assert executable is not None
    output = subprocess.run([executable, "--help"], check=True, capture_output=True, text=True).stdout
    for command in ("train", "evaluate", "compare", "figures", "bench"):
        assert command in output


def test_resume_continues_steps_replay_buffer_and_logs(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    settings = TrainSettings(n_uavs=3, steps=200, checkpoint_every=100, seed=2, hyperparameters={"learning_starts": 150})
    first = train(settings, run_dir, progress=False)
    assert latest_checkpoint(run_dir)[0] == 200
    assert sorted(path.name for path in (run_dir / "checkpoints").glob("replay_buffer_*")) == ["replay_buffer_200_steps.pkl"]
    stored = first.replay_buffer.observations[:200].copy()
    del first

    resumed = resume(run_dir, steps=450, progress=False)
    assert resumed.num_timesteps == 450
    assert resumed.replay_buffer.size() == 450  # 200 restored + 250 new transitions
    np.testing.assert_array_equal(resumed.replay_buffer.observations[:200], stored)
    assert latest_checkpoint(run_dir)[0] == 450 and CCDDPG.load(run_dir / "model.zip").num_timesteps == 450
    monitor = pd.read_csv(run_dir / "monitor.csv", comment="#")
    assert len(monitor) == 45 and list(monitor.columns) == ["r", "l", "t"]  # episodes of 10 slots, one header


def test_resume_keeps_one_tensorboard_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    main(["train", "--n-uavs", "3", "--steps", "100", "--checkpoint-every", "50", "--log-dir", str(run_dir)])
    main(["train", "--resume", str(run_dir), "--steps", "150"])
    runs = sorted(path.name for path in (run_dir / "tensorboard").iterdir())
    assert runs == ["ccddpg_1"]
    assert CCDDPG.load(run_dir / "model.zip").num_timesteps == 150


def test_train_refuses_an_existing_run_and_bad_hyperparameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    main(["train", *TINY, "--steps", "20", "--log-dir", str(run_dir)])
    with pytest.raises(SystemExit) as stop:
        main(["train", *TINY, "--steps", "20", "--log-dir", str(run_dir)])
    assert stop.value.code == 2 and "already holds a run; resume it with --resume" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n- not a mapping\n")
    with pytest.raises(SystemExit):
        main(["train", *TINY, "--steps", "20", "--hyperparams", str(bad), "--log-dir", str(tmp_path / "other")])
    assert "must hold a mapping of constructor arguments" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", *TINY, "--mu", "1.5", "--log-dir", str(tmp_path / "third")])
    assert "mu must be a finite number in [0.0, 1.0], got 1.5" in capsys.readouterr().err


def test_hyperparameters_from_yaml_reach_the_agent(tmp_path: Path) -> None:
    hyperparams = tmp_path / "best.yaml"
    hyperparams.write_text("learning_rate: 0.0003\nbatch_size: 32\npolicy_kwargs:\n  net_arch: [16, 16]\n")
    run_dir = tmp_path / "run"
    main(["train", *TINY, "--steps", "20", "--hyperparams", str(hyperparams), "--log-dir", str(run_dir)])
    model = CCDDPG.load(run_dir / "model.zip")
    assert model.learning_rate == 0.0003 and model.batch_size == 32 and model.policy.net_arch == [16, 16]


def test_evaluate_a_run_and_baselines(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    main(["train", *TINY, "--steps", "30", "--log-dir", str(run_dir)])
    main(["evaluate", "--model", str(run_dir), "--n-states", "5", "--output", str(tmp_path / "model_eval")])
    main(["evaluate", "--baseline", "equal", "ra", "oracle", "--n-uavs", "3", "--quick", "--output", str(tmp_path / "base")])
    summary = pd.read_csv(tmp_path / "base" / "summary.csv", index_col="method")
    assert list(summary.index) == ["equal split", "RA", "oracle"]
    assert summary.loc["oracle", "objective"] <= summary.loc["equal split", "objective"]
    assert len(pd.read_csv(tmp_path / "model_eval" / "states.csv")) == 5

    both = ["evaluate", "--model", str(run_dir), "--decisions", "actor", "twin-descent", "--baseline", "oracle"]
    main([*both, "--n-states", "5", "--output", str(tmp_path / "both")])
    summary = pd.read_csv(tmp_path / "both" / "summary.csv", index_col="method")
    model = run_dir / "model.zip"
    assert list(summary.index) == [f"CC-DDPG (actor) ({model})", f"CC-DDPG (twin-descent) ({model})", "oracle"]
    objective = summary["objective"]
    assert objective["oracle"] <= objective.iloc[1] <= objective.iloc[0]  # the descent refines the actor's proposals


def test_evaluate_needs_something_to_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--n-states", "5"])
    assert "give --model, --baseline or both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--baseline", "oracle", "--decisions", "actor"])
    assert "--decisions needs --model" in capsys.readouterr().err


FIGURE_COLUMNS = {
    "fig4_training.csv": {"method", "seed", "step", "episode_reward"},
    "fig5_n_uavs.csv": {"method", "n_uavs", "reward", "reward_ci95", "T_total", "E_total", "objective", "gap_pct"},
    "fig6_mu.csv": {"method", "mu", "reward", "reward_ci95", "T_total", "E_total", "objective", "gap_pct"},
}


def test_figures_quick_writes_every_csv_png_and_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output, runs = tmp_path / "figures", tmp_path / "runs"
    main(["figures", "--quick", "--output", str(output), "--runs-dir", str(runs), "--n-satellites", "2"])
    for name, columns in FIGURE_COLUMNS.items():
        table = pd.read_csv(output / name)
        assert columns <= set(table.columns), name
        assert len(table) > 0 and np.isfinite(table.select_dtypes("number").to_numpy()).all(), name
    for name in ("fig4_training.png", "fig5_n_uavs.png", "fig6_mu.png"):
        assert (output / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig6 = pd.read_csv(output / "fig6_mu.csv")
    assert {"CC-DDPG (paper)", "CC-DDPG (paper, μ-conditioned)", "oracle", "RA"} <= set(fig6["method"])
    assert (fig6.loc[fig6["method"] == "oracle", "gap_pct"] == 0).all() and (fig6["gap_pct"] >= -1e-9).all()
    report = (output / "report.md").read_text()
    assert "33.7 %" in report and "| oracle |" in report and "Wall time" in report
    assert "Scenario at the reference point: N = 11, M = 2, ξ_total = 32" in report
    for run in runs.iterdir():
        if run.is_dir():  # every training run is on the scenario
            assert json.loads((run / "settings.json").read_text())["env_kwargs"] == {"n_satellites": 2}, run
    for folder in (output, runs):
        assert json.loads((folder / "scenario.json").read_text())["n_satellites"] == 2
    with pytest.raises(SystemExit) as stop:  # the runs and tables of one scenario are not reused for another
        main(["figures", "--quick", "--output", str(output), "--runs-dir", str(runs), "--n-satellites", "3"])
    assert stop.value.code == 2 and "n_satellites: 2 → 3" in capsys.readouterr().err

    (output / "report.md").unlink()
    (output / "fig4_training.png").unlink()
    main(["figures", "--redraw", "--output", str(output)])  # from the CSVs and run.json alone
    assert (output / "report.md").read_text() == report
    assert (output / "fig4_training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (output / "run.json").unlink()
    with pytest.raises(SystemExit) as stop:
        main(["figures", "--redraw", "--output", str(output)])
    assert stop.value.code == 2 and "run.json is missing" in capsys.readouterr().err

"""The whole scenario from the command line: named flags, ``--env-kwargs``, kept in the run, clear errors; threads."""

from __future__ import annotations

import json
from ast import literal_eval
from pathlib import Path

import pandas as pd
import pytest
import torch as th

from sb3_ccddpg.cli import main
from sb3_ccddpg.studies.scenario import parse_env_kwargs
from sb3_ccddpg.studies.training import read_settings

SCENARIO = ["--n-satellites", "4", "--channels-total", "12", "--reference-n-uavs", "own"]


def test_env_kwargs_are_read_as_yaml_values() -> None:
    fields = parse_env_kwargs(["data_mb_range:[100, 500]", "energy_model:eq14", "twin_error:0.1", "noise_power:null"])
    assert fields == {"data_mb_range": [100, 500], "energy_model": "eq14", "twin_error": 0.1, "noise_power": None}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["energy_model"], "takes key:value items"),
        (["n_satelites:4"], "unknown SatGroundConfig field 'n_satelites'"),
        (["n_uavs:4"], r"n_uavs is set by its own option \(--n-uavs\)"),
        (["mu:0.3"], r"mu is set by its own option \(--mu\)"),
        (["data_mb_range:[500, 100]"], "data_mb_range must be a pair"),
        (["energy_model:eq16"], "energy_model must be one of"),
    ],
)
def test_bad_env_kwargs_name_the_field(items: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_env_kwargs(items)


def test_train_keeps_the_scenario_and_evaluate_uses_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    fields = ["--env-kwargs", "data_mb_range:[100,500]", "hover_power:80"]
    main(["train", "--n-uavs", "5", *SCENARIO, *fields, "--steps", "30", "--no-tensorboard", "--log-dir", str(run_dir)])
    record = json.loads((run_dir / "settings.json").read_text())
    assert record["env_kwargs"] == {
        "data_mb_range": [100, 500],
        "hover_power": 80,
        "n_satellites": 4,
        "channels_total": 12,
        "reference_n_uavs": None,
    }
    config = read_settings(run_dir).config()
    assert (config.n_uavs, config.n_satellites, config.channels_total, config.reference_n_uavs) == (5, 4, 12, None)
    assert config.data_mb_range == (100.0, 500.0)

    main(["evaluate", "--model", str(run_dir), "--baseline", "oracle", "--n-states", "4", "--output", str(tmp_path / "e")])
    states = pd.read_csv(tmp_path / "e" / "states.csv")
    assert len(states) == 8 and max(max(literal_eval(a)) for a in states["association"]) == 3  # M = 4 satellites
    summary = pd.read_csv(tmp_path / "e" / "summary.csv", index_col="method")
    assert summary.loc["oracle", "objective"] <= summary["objective"].min() + 1e-12


def test_evaluate_baselines_on_a_scenario_and_refuse_mixing_it_with_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "base"
    main(["evaluate", "--baseline", "equal", "oracle", "--n-uavs", "5", *SCENARIO, "--n-states", "3", "--output", str(output)])
    association = pd.read_csv(output / "states.csv")["association"]
    assert set(association[:3]) == {"(0, 1, 2, 3, 0)"}  # the equal split over M = 4 satellites
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", str(tmp_path / "run"), "--n-satellites", "4"])
    assert "--model brings its own scenario" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--baseline", "equal", "--n-uavs", "5", "--channels-total", "4"])
    assert "n_uavs must be an integer ≥ 1, at most channels_total = 4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--baseline", "equal", "--reference-n-uavs", "many"])
    assert "must be an integer ≥ 1 or 'own'" in capsys.readouterr().err


def test_threads_option_sets_torchs_thread_count(capsys: pytest.CaptureFixture[str]) -> None:
    before = th.get_num_threads()
    try:
        main(["evaluate", "--baseline", "equal", "--n-uavs", "3", "--n-states", "2", "--threads", "2"])
        assert th.get_num_threads() == 2
        main(["evaluate", "--baseline", "equal", "--n-uavs", "3", "--n-states", "2"])
        assert th.get_num_threads() == 1  # the default, measured by `bench threads`
        with pytest.raises(SystemExit):
            main(["evaluate", "--baseline", "equal", "--threads", "0"])
        assert "--threads must be an integer ≥ 1, got 0" in capsys.readouterr().err
    finally:
        th.set_num_threads(before)


def test_a_saved_model_knows_its_scenario_and_evaluate_scores_it_on_that(tmp_path: Path) -> None:
    from sb3_ccddpg import CCDDPG
    from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv

    config = SatGroundConfig(n_uavs=5, n_satellites=4, channels_total=12, data_mb_range=(100.0, 500.0), mu=0.3)
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(config), learning_starts=10, batch_size=8, seed=0)
    model.learn(20)
    model.save(tmp_path / "mine.zip")  # saved from Python, outside any run folder
    loaded = CCDDPG.load(tmp_path / "mine.zip")
    assert loaded.env_config == config
    assert CCDDPG.load(tmp_path / "mine.zip", env=SatGroundEnv(config.replace(mu=0.9))).env_config == config

    main(["evaluate", "--model", str(tmp_path / "mine.zip"), "--n-states", "3", "--output", str(tmp_path / "e")])
    states = pd.read_csv(tmp_path / "e" / "states.csv")
    assert set(states["mu"]) == {0.3} and len(literal_eval(states["association"][0])) == 5


def test_evaluate_names_a_missing_model_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", str(tmp_path / "run" / "model.zip")])
    assert f"--model {tmp_path / 'run' / 'model.zip'}: no such file" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", str(tmp_path / "empty")])
    assert "no such model.zip in the folder" in capsys.readouterr().err


def test_a_misspelt_flag_gets_the_commands_usage_and_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", "--stepz", "3"])
    error = capsys.readouterr().err
    assert stop.value.code == 2
    assert "usage: sb3-ccddpg train" in error and "unrecognized arguments: --stepz (did you mean --steps?)" in error
    with pytest.raises(SystemExit):
        main(["evaluate", "--baseline", "equal", "--n-satelites", "4"])
    assert "(did you mean --n-satellites?)" in capsys.readouterr().err

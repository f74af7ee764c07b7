"""Optuna studies: end to end on SQLite and resumed, pruning, storage safety, the trade-off study."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from sb3_ccddpg.agents import CONSTRAINED, STOCHASTIC, make_agent
from sb3_ccddpg.cli import main
from sb3_ccddpg.studies.storage import open_storage
from sb3_ccddpg.studies.tradeoff import TradeoffSettings, trade_off
from sb3_ccddpg.studies.tuning import (
    TUNABLE_AGENTS,
    TuneSettings,
    _objective,
    hyperparameters_of,
    sample_hyperparameters,
    tune,
)
from sb3_ccddpg_envs import SatGroundConfig

TINY = TuneSettings(n_uavs=3, steps=60, evaluations=2, n_eval_states=5, n_trials=2, n_startup_trials=2)


def test_tiny_study_runs_and_a_second_call_continues_it(tmp_path: Path) -> None:
    first = tune(TINY, tmp_path)
    assert len(first.trials) == 2
    second = tune(TINY, tmp_path)
    assert len(second.trials) == 4 and [t.number for t in second.trials] == [0, 1, 2, 3]
    for name in ("trials.csv", "best_hyperparams.yaml", "optimization_history.png", "param_importances.png"):
        assert (tmp_path / name).exists(), name
    best = yaml.safe_load((tmp_path / "best_hyperparams.yaml").read_text())
    assert best == hyperparameters_of(second.best_trial.params)
    model = make_agent("ccddpg", SatGroundConfig(n_uavs=3), seed=0, **best)  # what `train --hyperparams` does
    assert model.batch_size == best["batch_size"] and model.policy.net_arch == best["policy_kwargs"]["net_arch"]


def test_a_study_records_its_scenario_and_refuses_to_mix_another(tmp_path: Path) -> None:
    tune(dataclasses.replace(TINY, n_trials=1, env_kwargs={"n_satellites": 2}), tmp_path)
    study = optuna.load_study(study_name="ccddpg", storage=f"sqlite:///{tmp_path / 'study.db'}")
    record = study.user_attrs["settings"]
    assert record["scenario"]["n_uavs"] == 3 and record["scenario"]["n_satellites"] == 2
    assert record["search"]["steps"] == 60 and "n_trials" not in record["search"]
    assert "# scenario: N = 3, M = 2, ξ_total = 32, μ = 0.5" in (tmp_path / "best_hyperparams.yaml").read_text()
    other = dataclasses.replace(TINY, n_trials=1, n_uavs=4, mu=0.3, env_kwargs={"n_satellites": 2})
    with pytest.raises(ValueError, match=r"started with other settings \(scenario.mu: 0.5 → 0.3; scenario.n_uavs: 3 → 4\)"):
        tune(other, tmp_path)
    assert len(optuna.load_study(study_name="ccddpg", storage=f"sqlite:///{tmp_path / 'study.db'}").trials) == 1
    tune(dataclasses.replace(TINY, n_trials=1, n_jobs=1, env_kwargs={"n_satellites": 2}), tmp_path)  # same study
    tune(other, tmp_path / "new")  # another study is fine


def test_a_trial_worse_than_the_median_is_pruned(tmp_path: Path) -> None:
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))
    # A finished trial that reported objective 0 at every step: every real trial (objective > 0) is worse.
    reference = optuna.trial.create_trial(
        params={}, distributions={}, value=0.0, intermediate_values={step: 0.0 for step in range(0, 1000, 10)}
    )
    study.add_trial(reference)
    settings = TuneSettings(n_uavs=3, steps=300, evaluations=3, n_eval_states=5, n_trials=1)
    study.optimize(lambda trial: _objective(settings, trial), n_trials=1)
    pruned = study.trials[-1]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    assert list(pruned.intermediate_values) == [100]  # stopped at the first evaluation, 200 steps early


def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    corrupt = tmp_path / "study.db"
    corrupt.write_bytes(b"these are someone's results, not a database\n")
    before = corrupt.read_bytes()
    with pytest.raises(ValueError, match="is not a SQLite database; it was left untouched"):
        tune(TINY, tmp_path)
    assert corrupt.read_bytes() == before


def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE measurements (value REAL)")
    before = foreign.read_bytes()
    with pytest.raises(ValueError, match="database of something else"):
        tune(TINY, tmp_path / "out", storage=f"sqlite:///{foreign}")
    assert foreign.read_bytes() == before


def test_journal_storage_and_bad_journal(tmp_path: Path) -> None:
    journal = tmp_path / "study.log"
    assert len(tune(TINY, tmp_path, storage=str(journal)).trials) == 2
    assert len(tune(TINY, tmp_path, storage=str(journal)).trials) == 4
    bad = tmp_path / "bad.log"
    bad.write_text("not json\n")
    with pytest.raises(ValueError, match="is not an Optuna journal"):
        open_storage(str(bad), tmp_path)
    with pytest.raises(ValueError, match="must be an RDB URL"):
        open_storage(str(tmp_path / "study.txt"), tmp_path)


def test_tradeoff_study_writes_fronts(tmp_path: Path) -> None:
    settings = TradeoffSettings(
        n_uavs=3, steps=40, n_eval_states=5, n_trials=2, mu_grid=3, nsga_population=10, nsga_generations=3
    )
    study = trade_off(settings, tmp_path)
    assert len(study.directions) == 2 and len(study.trials) == 2
    for name in ("tradeoff_trials.csv", "oracle_front.csv", "nsga2_front.csv", "pareto_front.png"):
        assert (tmp_path / name).exists(), name
    trials = pd.read_csv(tmp_path / "tradeoff_trials.csv")
    assert trials["pareto"].any() and {"mu", "T_total", "E_total", "feasible"} <= set(trials.columns)
    oracle = pd.read_csv(tmp_path / "oracle_front.csv")
    # The exact optimum trades delay for energy: more weight on energy never raises energy.
    assert oracle.sort_values("mu")["E_total"].diff().dropna().le(1e-6 * oracle["E_total"].max()).all()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_trials", 0, "n_trials must be an integer ≥ 1, got 0"),
        ("steps", 2.5, "steps must be an integer ≥ 1, got 2.5"),
        ("timeout", -1.0, "timeout must be a finite number of seconds > 0 or None, got -1.0"),
        ("mu", 1.5, "mu must be a finite number in"),
    ],
)
def test_bad_study_settings_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TuneSettings(**{field: value})  # type: ignore[arg-type]
    if field != "mu":
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            TradeoffSettings(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("agent", TUNABLE_AGENTS)
def test_every_agents_search_space_builds_it(agent: str) -> None:
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    hyperparameters = sample_hyperparameters(trial, agent)
    assert hyperparameters_of(trial.params, agent) == hyperparameters  # the YAML of a best trial rebuilds it
    model = make_agent(agent, SatGroundConfig(n_uavs=3), seed=0, **hyperparameters)  # every drawn argument is taken
    assert model.batch_size == hyperparameters["batch_size"] and model.learning_rate == hyperparameters["learning_rate"]
    assert ("ent_coef" in trial.params) == (agent in STOCHASTIC) != ("exploration_noise" in trial.params)
    assert ("tau" in trial.params) == (agent not in ("crossq", "cccrossq"))
    assert ("alpha0_init" in trial.params) == (agent in CONSTRAINED)


def test_a_study_of_another_agent_trains_it_and_refuses_to_mix_agents(tmp_path: Path) -> None:
    settings = dataclasses.replace(TINY, agent="ccsac", n_trials=1)
    study = tune(settings, tmp_path)
    assert study.user_attrs["settings"]["search"]["agent"] == "ccsac"
    text = (tmp_path / "best_hyperparams.yaml").read_text()
    assert "# agent: ccsac; train: sb3-ccddpg train --algorithm ccsac --hyperparams <this file>" in text
    best = yaml.safe_load(text)
    assert "ent_coef" in best and "exploration_noise" not in best
    assert make_agent("ccsac", SatGroundConfig(n_uavs=3), seed=0, **best).batch_size == best["batch_size"]
    with pytest.raises(ValueError, match=r"search.agent: 'ccsac' → 'ccddpg-paper'"):
        tune(dataclasses.replace(TINY, n_trials=1), tmp_path)
    assert len(optuna.load_study(study_name="ccddpg", storage=f"sqlite:///{tmp_path / 'study.db'}").trials) == 1


def test_a_study_recorded_before_agents_were_a_setting_continues_as_the_papers(tmp_path: Path) -> None:
    first = tune(dataclasses.replace(TINY, n_trials=1), tmp_path)
    record = first.user_attrs["settings"]
    del record["search"]["agent"]
    first.set_user_attr("settings", record)  # as an older version wrote it
    assert len(tune(dataclasses.replace(TINY, n_trials=1), tmp_path).trials) == 2
    with pytest.raises(ValueError, match=r"search.agent: 'ccddpg-paper' → 'cctd3'"):
        tune(dataclasses.replace(TINY, agent="cctd3", n_trials=1), tmp_path)


def test_bad_agents_are_refused_with_the_allowed_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"agent must be one of \['ccddpg-paper', .*got 'ccddpg'; tune 'ccddpg-paper'"):
        TuneSettings(agent="ccddpg")
    with pytest.raises(SystemExit):
        main(["tune", "--tradeoff", "--agent", "ccsac", "--output", str(tmp_path)])
    assert "--tradeoff studies CC-DDPG's trade-off over μ; drop --agent" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_command_line_names_a_study_after_its_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["tune", "--agent", "cctd3", "--quick", "--n-trials", "1", "--n-uavs", "3", "--output", str(tmp_path)])
    assert "train with them: sb3-ccddpg train --algorithm cctd3 --hyperparams" in capsys.readouterr().out
    study = optuna.load_study(study_name="cctd3", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert study.user_attrs["settings"]["search"]["agent"] == "cctd3" and len(study.trials) == 1

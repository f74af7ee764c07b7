"""The quality benchmark keeps every finished checkpoint and continues a stopped run from it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sb3_ccddpg.agents import make_agent
from sb3_ccddpg.algorithms import CCSAC
from sb3_ccddpg.algorithms.sac import CCSACPolicy
from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.evaluation import PolicyMethod, evaluate
from sb3_ccddpg.solvers.search import DECISIONS
from sb3_ccddpg.studies.bench.quality import (
    HELD_OUT_SEED,
    VARIANTS,
    _constructor_arguments,
    main,
    overview_markdown,
    run_name,
    run_variant,
    written_rows,
)
from sb3_ccddpg_envs import SatGroundConfig


def test_run_continues_from_its_last_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / run_name("paper", 3, 0.5, 0)
    first = run_variant("paper", 3, 0.5, 0, (0, 120), 5, run_dir)
    assert sorted(first["decision"]) == sorted(2 * DECISIONS)
    assert (first.loc[first["steps"] == 0, "train_s"] == 0).all()  # checkpoint 0: the untrained agent
    assert (run_dir / "checkpoints" / "model_120_steps.zip").exists()
    assert (run_dir / "checkpoints" / "replay_buffer_120_steps.pkl").exists()

    both = run_variant("paper", 3, 0.5, 0, (0, 120, 240), 5, run_dir)
    kept = both[both["steps"] <= 120].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, first, check_dtype=False)  # finished checkpoints are not trained again
    assert sorted(both["steps"].unique()) == [0, 120, 240]
    assert (run_dir / "checkpoints" / "model_240_steps.zip").exists()
    later = both[both["steps"] == 240]
    assert (later["train_s"] > first["train_s"].max()).all()  # training time accumulates across calls
    pd.testing.assert_frame_equal(pd.read_csv(run_dir / "rows.csv"), both, check_dtype=False)


def test_a_decision_mode_added_later_is_evaluated_on_the_kept_checkpoints(tmp_path: Path) -> None:
    run_dir = tmp_path / run_name("paper", 3, 0.5, 0)
    complete = run_variant("paper", 3, 0.5, 0, (0, 120), 5, run_dir)
    without = complete[complete["decision"] != "twin-descent"]
    without.to_csv(run_dir / "rows.csv", index=False)  # as written before the mode existed
    topped_up = run_variant("paper", 3, 0.5, 0, (0, 120), 5, run_dir)
    columns = ["decision", "steps", "objective", "T_total", "E_total", "train_s"]
    pd.testing.assert_frame_equal(topped_up[: len(without)][columns], without[columns].reset_index(drop=True))
    added = topped_up[len(without) :].sort_values("steps")
    expected = complete[complete["decision"] == "twin-descent"].sort_values("steps")
    pd.testing.assert_frame_equal(added[columns].reset_index(drop=True), expected[columns].reset_index(drop=True))


def test_variant_on_several_envs_continues_on_as_many(tmp_path: Path) -> None:
    run_dir = tmp_path / run_name("vec-envs", 3, 0.5, 0)
    run_variant("vec-envs", 3, 0.5, 0, (120,), 5, run_dir)
    both = run_variant("vec-envs", 3, 0.5, 0, (120, 240), 5, run_dir)
    assert sorted(both["steps"].unique()) == [120, 240]
    model = CCDDPG.load(run_dir / "checkpoints" / "model_240_steps.zip")
    assert model.n_envs == 4 and model.num_timesteps == 240


def test_untrained_checkpoint_of_a_resumed_run_is_the_seeds_initial_agent(tmp_path: Path) -> None:
    run_dir = tmp_path / run_name("paper", 3, 0.5, 1)
    run_variant("paper", 3, 0.5, 1, (300,), 5, run_dir)  # past the 200 warm-up steps
    added = run_variant("paper", 3, 0.5, 1, (0, 300), 5, run_dir)  # 0 asked for after training
    fresh = run_variant("paper", 3, 0.5, 1, (0,), 5, tmp_path / "fresh")
    assert sorted(run_variant("paper", 3, 0.5, 1, (0,), 5, run_dir)["steps"].unique()) == [0, 300]  # 300 kept
    with pytest.raises(ValueError, match="checkpoint 100 comes before the latest one"):
        run_variant("paper", 3, 0.5, 1, (100,), 5, run_dir)
    columns = ["decision", "objective", "T_total", "E_total"]
    pd.testing.assert_frame_equal(
        added[added["steps"] == 0][columns].reset_index(drop=True), fresh[columns].reset_index(drop=True)
    )


def test_report_writes_the_tables_from_the_rows_written_so_far(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no run rows under"):
        main(["--report", "--output", str(tmp_path)])
    run_variant("paper", 3, 0.5, 0, (0, 40), 5, tmp_path / "runs" / run_name("paper", 3, 0.5, 0))
    main(["--report", "--output", str(tmp_path), "--n-uavs", "3", "--n-states", "5"])
    results = pd.read_csv(tmp_path / "quality.csv")
    assert len(results) == 2 * len(DECISIONS) and (results["ratio_to_oracle"] >= 1 - 1e-9).all()
    assert (results["oracle_decision_ms"] > 0).all()
    assert "| 3 | 0.5 | ccddpg | paper | twin-search-exact | 40 |" in (tmp_path / "quality.md").read_text()
    assert (tmp_path / "quality.png").stat().st_size > 0


def test_overview_gives_each_checkpoint_the_mean_and_range_over_seeds() -> None:
    def row(variant: str, seed: int, steps: int, ratio: float) -> dict[str, object]:
        return {"n_uavs": 3, "mu": 0.5, "agent": "ccddpg", "variant": variant, "decision": "actor", "seed": seed,
                "steps": steps,
                "objective": 2.0 * ratio, "ratio_to_oracle": ratio, "equal_split_ratio": 1.5,
                "oracle_objective": 2.0, "oracle_decision_ms": 12.0,
                "decision_ms": 1.0 + seed, "train_s": float(steps)}  # fmt: skip

    results = pd.DataFrame(
        [row("paper", seed, 0, 3.0 + seed) for seed in range(3)]
        + [row("paper", seed, 100, 1.2 + seed / 10) for seed in range(3)]
        + [row("paper", seed, 200, 1.1) for seed in range(2)]  # a run still going
        + [row("untrained", 0, 0, 3.0)]
    )
    lines = overview_markdown(results).splitlines()
    assert lines[0] == (
        "### N = 3, M = 3, ξ_total = 32, μ = 0.5: oracle 2.0000 (12.0 ms per decision), equal split 1.500× the oracle"
    )
    assert "| 0 steps | 100 steps | 200 steps |" in lines[2]
    # decision time: mean over the trained rows (1, 2, 3 ms at 100 steps; 1, 2 at 200); training to 200 steps
    cells = "4.000 (3.000–5.000) | 1.300 (1.200–1.400) | 1.100 (1.100–1.100), 2 seeds | 1.80 | 200"
    assert f"| ccddpg | paper | actor | {cells} |" in lines
    assert "| ccddpg | untrained | actor | 3.000, 1 seed |  |  |  |  |" in lines


def test_a_scenario_runs_every_variant_on_it_and_the_folder_refuses_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["--variants", "paper", "--n-uavs", "3", "--mus", "0.5", "--seeds", "1", "--checkpoints", "0"]
    arguments += ["--n-states", "5", "--output", str(tmp_path), "--n-satellites", "2", "--env-kwargs", "channels_total:8"]
    main(arguments)
    assert json.loads((tmp_path / "scenario.json").read_text())["n_satellites"] == 2
    assert "### N = 3, M = 2, ξ_total = 8, μ = 0.5" in (tmp_path / "quality.md").read_text()
    model = make_agent("ccddpg", SatGroundConfig(n_uavs=3, n_satellites=2, channels_total=8), seed=0)
    model.set_decision("actor")
    actor = evaluate(PolicyMethod(model, model.env_config, "actor"), model.env_config, 5, HELD_OUT_SEED)
    rows = pd.read_csv(tmp_path / "quality.csv").set_index("decision")
    assert rows.loc["actor", "objective"] == pytest.approx(actor["objective"].mean())  # scored on that scenario
    with pytest.raises(SystemExit):
        main([*arguments[:-1], "channels_total:16"])
    assert "channels_total: 8 → 16" in capsys.readouterr().err


def test_another_agent_with_the_heads_is_trained_and_continued_as_itself(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / run_name("paper", 3, 0.5, 0, agent="ccsac")
    assert run_dir.name == "ccsac-paper_n3_mu0.5_seed0"
    first = run_variant("paper", 3, 0.5, 0, (0, 120), 5, run_dir, agent="ccsac")
    assert set(first["agent"]) == {"ccsac"} and sorted(first["decision"]) == sorted(2 * DECISIONS)
    both = run_variant("paper", 3, 0.5, 0, (0, 120, 240), 5, run_dir, agent="ccsac")
    pd.testing.assert_frame_equal(both[both["steps"] <= 120].reset_index(drop=True), first, check_dtype=False)
    model = CCSAC.load(run_dir / "checkpoints" / "model_240_steps.zip")
    assert model.num_timesteps == 240
    assert isinstance(model.policy, CCSACPolicy)  # its own policy, not CC-DDPG's


def test_rows_written_before_agents_existed_are_ccddpgs(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / run_name("paper", 3, 0.5, 0)
    run_variant("paper", 3, 0.5, 0, (0,), 5, run_dir)
    pd.read_csv(run_dir / "rows.csv").drop(columns="agent").to_csv(run_dir / "rows.csv", index=False)
    assert set(written_rows(tmp_path)["agent"]) == {"ccddpg"}
    continued = run_variant("paper", 3, 0.5, 0, (0, 40), 5, run_dir)
    assert set(continued["agent"]) == {"ccddpg"} and sorted(continued["steps"].unique()) == [0, 40]


def test_a_variant_of_an_option_only_ccddpg_has_is_refused_for_other_agents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--agents", "cctd3", "--variants", "softmax-assignment", "--output", str(tmp_path)])
    error = capsys.readouterr().err
    assert "variant 'softmax-assignment' changes an option only CC-DDPG has" in error and "'big-batch'" in error
    with pytest.raises(ValueError, match="agent must be one of"):
        run_variant("paper", 3, 0.5, 0, (0,), 5, tmp_path / "x", agent="ddpg")
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_builds_a_model_that_learns_a_few_steps(variant: str) -> None:
    config = SatGroundConfig(n_uavs=4, n_satellites=2)
    model = make_agent("ccddpg", config, 0, **{**_constructor_arguments(variant), "learning_starts": 20, "batch_size": 8})
    model.learn(30)
    assert model.num_timesteps >= 30

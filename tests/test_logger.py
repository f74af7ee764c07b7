"""TensorBoard scalars of CC-DDPG runs: the callback's env metrics, the learnable scales, the evaluation callback."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sb3_ccddpg import CCDDPG, SatGroundInfoCallback
from sb3_ccddpg.callbacks import SatGroundEvalCallback
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv

EXPECTED_TAGS = {
    "ccddpg/objective",
    "ccddpg/T_total",
    "ccddpg/E_total",
    "ccddpg/C6_violation_rate",
    "ccddpg/C7_violation_rate",
    "ccddpg/alpha0",
    "ccddpg/alpha_j/0",
    "ccddpg/alpha_j/1",
    "ccddpg/alpha_j/2",
}


def test_event_files_contain_the_ccddpg_scalars(tmp_path: Path) -> None:
    model = CCDDPG(
        "CCDDPGPolicy",
        SatGroundEnv(n_uavs=4, episode_length=5),
        learning_starts=10,
        batch_size=8,
        tensorboard_log=str(tmp_path),
        seed=0,
    )
    model.learn(60, callback=SatGroundInfoCallback(), log_interval=1)
    runs = list(tmp_path.iterdir())
    assert [run.name for run in runs] == ["CCDDPG_1"]
    events = EventAccumulator(str(runs[0]))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert EXPECTED_TAGS <= tags
    objective = [scalar.value for scalar in events.Scalars("ccddpg/objective")]
    assert len(objective) >= 2 and all(value > 0 for value in objective)
    violations = [scalar.value for scalar in events.Scalars("ccddpg/C6_violation_rate")]
    assert all(0.0 <= value <= 1.0 for value in violations)
    alpha0 = [scalar.value for scalar in events.Scalars("ccddpg/alpha0")]
    assert all(0.0 < value < 1.0 for value in alpha0)


@pytest.mark.parametrize(("n_uavs", "reference"), [(4, "oracle"), (40, "bound")])
def test_eval_callback_scores_the_deployed_decision_and_keeps_the_best(tmp_path: Path, n_uavs: int, reference: str) -> None:
    config = SatGroundConfig(n_uavs=n_uavs, channels_total=max(32, 3 * n_uavs), reference_n_uavs=None)
    model = CCDDPG(
        "CCDDPGPolicy", SatGroundEnv(config), learning_starts=10, batch_size=8, tensorboard_log=str(tmp_path), seed=0
    )
    callback = SatGroundEvalCallback(
        config, eval_freq=30, n_states=4, best_model_save_path=tmp_path / "best", reference_nodes=10
    )  # N = 40: beyond enumeration, and 10 nodes prove nothing
    model.learn(60, callback=callback)
    events = EventAccumulator(str(tmp_path / "CCDDPG_1"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {"objective", "actor_objective", f"gap_to_{reference}", "C6_violation_rate", "C7_violation_rate", "decision_ms"}
    assert {f"eval/{key}" for key in expected} <= tags
    assert [scalar.step for scalar in events.Scalars("eval/objective")] == [30, 60]
    deployed = [scalar.value for scalar in events.Scalars("eval/objective")]
    gaps = [scalar.value for scalar in events.Scalars(f"eval/gap_to_{reference}")]
    assert all(gap >= -1e-6 for gap in gaps)  # nothing beats the exact optimum of the same states
    assert callback.best_objective == pytest.approx(min(deployed), rel=1e-6)
    alone = [scalar.value for scalar in events.Scalars("eval/actor_objective")]
    assert all(d <= a + 1e-6 for d, a in zip(deployed, alone, strict=True))  # the default refines the actor
    assert CCDDPG.load(tmp_path / "best" / "best_model.zip").num_timesteps in (30, 60)


def test_eval_callback_rejects_bad_budgets() -> None:
    with pytest.raises(ValueError, match="eval_freq and n_states must be integers ≥ 1"):
        SatGroundEvalCallback(SatGroundConfig(n_uavs=4), eval_freq=0)

"""TensorBoard scalars of CC-DDPG runs: the callback's env metrics and the learnable scales."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sb3_ccddpg import CCDDPG, SatGroundInfoCallback
from sb3_ccddpg_envs import SatGroundEnv

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

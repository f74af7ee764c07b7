"""Every part at the largest size of the scale sweep: N = 64 UAVs, M = 8 satellites, ξ_total = 192 (spec §5a)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.evaluation import PolicyMethod, evaluate
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv, allocation_cost, encode, equal_split, project
from tests.test_ccddpg import assert_feasible_fixed_point

LARGE = SatGroundConfig(n_uavs=64, n_satellites=8, channels_total=192, reference_n_uavs=None)


def test_env_decoder_cost_and_twin_at_the_largest_size() -> None:
    env = SatGroundEnv(LARGE)
    check_env(env, skip_render_check=True)
    observation, _ = env.reset(seed=3)
    assert observation.shape == (64,) and env.action_space.shape == (64 + 8 * 64,)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["channels"].sum() <= 192 and np.all(info["rho"].sum(axis=-1) <= 1 + 1e-9)
    twin = env.unwrapped.twin
    assert len(twin.uavs) == 64 and len(twin.satellites) == 8
    assert sum(satellite.n_uavs for satellite in twin.satellites) == 64
    allocation = equal_split(LARGE)
    again = project(encode(allocation, 192), 64, 8, 192)
    np.testing.assert_array_equal(again.channels, allocation.channels)
    np.testing.assert_array_equal(again.association, allocation.association)
    top = np.full(64, LARGE.data_mb_range[1])
    assert float(allocation_cost(LARGE, top, allocation, mu=0.0)["objective"]) == pytest.approx(1.0)  # own-N T_max


@pytest.mark.parametrize("decision", ["actor", "twin-descent"])
def test_ccddpg_trains_decides_and_reloads_at_the_largest_size(tmp_path: Path, decision: str) -> None:
    policy_kwargs = {"net_arch": [32, 32], "branch_width": 16, "decision": decision}
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(LARGE), learning_starts=20, batch_size=16, policy_kwargs=policy_kwargs, seed=0)
    model.learn(60)
    assert model.num_timesteps == 60
    stored = model.replay_buffer.actions[:60, 0]
    assert_feasible_fixed_point(stored, 64, 8, 192)
    observations = np.random.default_rng(0).uniform(0.1, 1.0, (3, 64)).astype(np.float32)
    actions, _ = model.predict(observations, deterministic=True)
    assert_feasible_fixed_point(actions, 64, 8, 192)
    model.save(tmp_path / "model.zip")
    loaded = CCDDPG.load(tmp_path / "model.zip")
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0], actions)
    if decision == "twin-descent":  # the descent refines the actor's own proposal, state by state
        refined = evaluate(PolicyMethod(model, LARGE, decision), LARGE, n_states=3, seed=1)["objective"].to_numpy()
        model.set_decision("actor", LARGE)
        proposed = evaluate(PolicyMethod(model, LARGE, "actor"), LARGE, n_states=3, seed=1)["objective"].to_numpy()
        assert (refined <= proposed).all() and (refined < proposed).any()

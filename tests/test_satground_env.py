"""The ``SatGround-v0`` environment: registration, checkers, episodes, reward, info, twin, seeding, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import sb3_ccddpg  # noqa: F401 (registers SatGround-v0)
from sb3_ccddpg_envs import (
    COST_KEYS,
    SatGroundConfig,
    SatGroundEnv,
    allocation_cost,
    encode,
    equal_split,
    has_twin_error,
    project,
    reference_normalisers,
    twin_view,
)


def test_make_by_module_path_registers_without_import() -> None:
    import subprocess
    import sys

    code = "import gymnasium as gym; env = gym.make('sb3_ccddpg:SatGround-v0', n_uavs=6); print(env.action_space.shape)"
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert output.strip() == "(24,)"


def test_spaces_follow_the_config() -> None:
    env = gym.make("SatGround-v0", n_uavs=6, n_satellites=2)
    assert env.action_space.shape == (6 + 2 * 6,)
    assert env.action_space.dtype == np.float32 and env.observation_space.dtype == np.float32
    assert env.observation_space.shape == (6,)
    assert gym.make("SatGround-v0", observe_mu=True).observation_space.shape == (12,)


def test_gymnasium_and_sb3_checkers_pass_without_warnings(recwarn: pytest.WarningsRecorder) -> None:
    gym_check_env(gym.make("SatGround-v0").unwrapped)
    sb3_check_env(SatGroundEnv(n_uavs=6), warn=True)
    gym_check_env(gym.make("SatGround-v0", observe_mu=True, twin_error=0.1).unwrapped)
    assert [str(w.message) for w in recwarn] == []


@pytest.mark.parametrize("vec_env_cls", [DummyVecEnv, SubprocVecEnv])
def test_vectorised(vec_env_cls: type) -> None:
    # Subprocesses may start fresh interpreters: the module-qualified id imports the package there.
    vec_env = make_vec_env("sb3_ccddpg:SatGround-v0", n_envs=4, seed=0, env_kwargs={"n_uavs": 6}, vec_env_cls=vec_env_cls)
    try:
        observations = vec_env.reset()
        assert observations.shape == (4, 6)
        assert len({tuple(row) for row in observations}) == 4  # each copy seeded differently
        actions = np.stack([vec_env.action_space.sample() for _ in range(4)])
        observations, rewards, dones, infos = vec_env.step(actions)
        assert rewards.shape == (4,) and not dones.any()
        assert all(np.isfinite(info["objective"]) for info in infos)
    finally:
        vec_env.close()


def test_episode_truncates_after_episode_length() -> None:
    env = SatGroundEnv(episode_length=3)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_step_scores_the_slot_it_observed() -> None:
    """The reward and info of a step are the cost model's on the data observed before the step."""
    env = SatGroundEnv(n_uavs=6, reward_clip=None)
    observation, reset_info = env.reset(seed=3)
    np.testing.assert_allclose(observation, reset_info["data_mb"] / 1000.0, rtol=1e-6)
    action = env.action_space.sample()
    _, reward, _, _, info = env.step(action)
    config = env.config
    expected = allocation_cost(config, reset_info["data_mb"], project(action, 6, 3, 32))
    assert set(COST_KEYS) <= set(info)
    for key in COST_KEYS:
        np.testing.assert_array_equal(info[key], expected[key])
    violations = (not info["C6_ok"]) + (not info["C7_ok"])
    assert reward == pytest.approx(-info["objective"] - config.constraint_penalty * violations)


def test_reward_penalty_and_clip() -> None:
    """An all-zero ρ column trains at share ε: C6 fails, the penalty applies and the clip bounds the reward."""
    action = np.zeros(6 + 3 * 6, dtype=np.float32)
    action[:6] = 1.0 / 6
    clipped = SatGroundEnv(n_uavs=6)
    clipped.reset(seed=0)
    _, reward, _, _, info = clipped.step(action)
    assert not info["C6_ok"] and info["objective"] > 1e6
    assert reward == -10.0
    unclipped = SatGroundEnv(n_uavs=6, reward_clip=None, constraint_penalty=2.5)
    unclipped.reset(seed=0)
    _, reward, _, _, info = unclipped.step(action)
    violations = (not info["C6_ok"]) + (not info["C7_ok"])
    assert violations >= 1
    assert reward == pytest.approx(-info["objective"] - 2.5 * violations)


def test_equal_split_reward_equals_minus_objective_and_normalisers() -> None:
    config = SatGroundConfig()
    t_max, e_max = reference_normalisers(config)
    assert t_max == pytest.approx(812.957, rel=1e-6) and e_max == pytest.approx(897_364.48, rel=1e-7)
    env = SatGroundEnv(config)
    env.reset(seed=1)
    action = encode(equal_split(config), config.channels_total).astype(np.float32)
    _, reward, _, _, info = env.step(action)
    assert info["C6_ok"] and info["C7_ok"]
    assert reward == pytest.approx(-float(info["objective"]))
    np.testing.assert_array_equal(info["association"], np.arange(11) % 3)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.full(24, np.nan, dtype=np.float32), "finite"),
        (np.full(24, np.inf, dtype=np.float32), "finite"),
        (np.zeros(23, dtype=np.float32), r"shape \(24,\)"),
        (np.zeros((1, 24), dtype=np.float32), r"shape \(24,\)"),
        (np.full(24, 1.5, dtype=np.float32), r"\[-1, 1\]"),
    ],
)
def test_bad_action_raises_and_leaves_state_unchanged(action: np.ndarray, match: str) -> None:
    env = SatGroundEnv(n_uavs=6)
    env.reset(seed=5)
    env.step(env.action_space.sample())
    before = (env.data_mb, env.twin, env.np_random.bit_generator.state, env._steps)
    with pytest.raises(ValueError, match=match):
        env.step(action)
    after = (env.data_mb, env.twin, env.np_random.bit_generator.state, env._steps)
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]


def test_same_seed_same_trajectory() -> None:
    def trajectory(seed: int) -> list[tuple]:
        env = SatGroundEnv(n_uavs=6, twin_error=0.05, observe_mu=True)
        env.action_space.seed(seed)
        observation, _ = env.reset(seed=seed)
        steps = [(observation.tobytes(),)]
        for _ in range(25):
            observation, reward, _, truncated, info = env.step(env.action_space.sample())
            steps.append((observation.tobytes(), reward, truncated, info["objective"].item()))
            if truncated:
                observation, _ = env.reset()
                steps.append((observation.tobytes(),))
        return steps

    assert trajectory(7) == trajectory(7)
    assert trajectory(7) != trajectory(8)


def test_observe_mu_draws_per_episode_unless_fixed() -> None:
    env = SatGroundEnv(n_uavs=6, observe_mu=True)
    mus = {env.reset(seed=s)[0][-1].item() for s in range(5)}
    assert len(mus) == 5 and all(0.0 <= mu <= 1.0 for mu in mus)
    observation, info = env.reset(seed=0, options={"mu": 0.3})
    assert observation[-1] == np.float32(0.3) and info["mu"] == 0.3
    _, _, _, _, step_info = env.step(env.action_space.sample())
    assert step_info["mu"] == 0.3
    with pytest.raises(ValueError, match=r"options\['mu'\] must be in \[0, 1\]"):
        env.reset(options={"mu": 1.5})


def test_twin_error_zero_observes_true_data() -> None:
    env = SatGroundEnv(n_uavs=6)
    observation, _ = env.reset(seed=2)
    np.testing.assert_allclose(observation, env.data_mb / 1000.0, rtol=1e-6)
    assert [uav.data_mb for uav in env.twin.uavs] == list(env.data_mb)


def test_twin_error_deviates_but_cost_uses_true_data() -> None:
    env = SatGroundEnv(n_uavs=11, twin_error=0.2)
    observation, _ = env.reset(seed=2)
    true_data = env.data_mb
    observed = observation.astype(np.float64) * 1000.0
    assert np.max(np.abs(observed - true_data) / true_data) > 0.01
    assert np.all((observed >= 100.0 - 1e-3) & (observed <= 1000.0 + 1e-3))
    _, _, _, _, info = env.step(env.action_space.sample())
    np.testing.assert_array_equal(info["data_mb"], true_data)


def test_twin_view_follows_each_uavs_sigma_and_the_bias() -> None:
    rng = np.random.default_rng(0)
    data = rng.uniform(100.0, 1000.0, (20_000, 3))
    per_uav = SatGroundConfig(n_uavs=3, twin_error=(0.0, 0.1, 0.3))
    twin = twin_view(per_uav, data, np.random.default_rng(1))
    np.testing.assert_array_equal(twin[:, 0], data[:, 0])  # σ_0 = 0: the twin is exact
    inside = (twin > 100.0) & (twin < 1000.0)  # not clipped
    relative = twin / data - 1.0
    assert [float(np.std(relative[inside[:, i], i])) for i in (1, 2)] == pytest.approx([0.1, 0.3], rel=0.1)
    biased = twin_view(SatGroundConfig(n_uavs=3, twin_bias=0.2), data, np.random.default_rng(1))
    np.testing.assert_allclose(biased, np.clip(1.2 * data, 100.0, 1000.0))
    exact = SatGroundConfig(n_uavs=3)
    assert not has_twin_error(exact) and twin_view(exact, data, np.random.default_rng(1)) is data
    env = SatGroundEnv(per_uav)
    observation, _ = env.reset(seed=3)
    assert observation[0] * 1000.0 == pytest.approx(env.data_mb[0], rel=1e-6)


def test_twin_records_mirror_the_last_decision() -> None:
    env = SatGroundEnv(n_uavs=6)
    env.reset(seed=4)
    twin = env.twin
    assert all(uav.n_channels == 0 and uav.offload_target == -1 for uav in twin.uavs)
    assert all(satellite.n_uavs == 0 for satellite in twin.satellites)
    _, _, _, _, info = env.step(env.action_space.sample())
    twin = env.twin
    assert [uav.n_channels for uav in twin.uavs] == list(info["channels"])
    assert [uav.offload_target for uav in twin.uavs] == list(info["association"])
    assert all(uav.tx_power == 1.0 for uav in twin.uavs)
    assert [uav.data_mb for uav in twin.uavs] == list(env.data_mb)  # the next slot's data
    for j, satellite in enumerate(twin.satellites):
        assert satellite.cpu_frequency == 4e9
        assert satellite.uav_ids == tuple(np.flatnonzero(info["association"] == j))
    assert sum(satellite.n_uavs for satellite in twin.satellites) == 6


def test_render_modes() -> None:
    env = gym.make("SatGround-v0", n_uavs=4, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    image = env.render()
    assert image.shape == (4 * 16, 4 * 16, 3) and image.dtype == np.uint8 and image.max() > 0
    text = gym.make("SatGround-v0", n_uavs=4, render_mode="ansi")
    text.reset(seed=0)
    assert len(text.render().splitlines()) == 2 + 4
    with pytest.raises(ValueError, match="render_mode must be None or one of"):
        SatGroundEnv(render_mode="human")


def test_constructor_rejects_unknown_fields_and_mixed_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown SatGround-v0 field\(s\) \['n_drones'\]"):
        gym.make("SatGround-v0", n_drones=3)
    with pytest.raises(ValueError, match="either config or keyword fields"):
        SatGroundEnv(SatGroundConfig(), n_uavs=6)
    with pytest.raises(ValueError, match="n_uavs must be an integer ≥ 1, at most channels_total = 32"):
        gym.make("SatGround-v0", n_uavs=40)


def test_info_is_not_changed_by_later_calls() -> None:
    env = SatGroundEnv(n_uavs=6)
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    snapshot = {key: np.array(value, copy=True) for key, value in info.items()}
    env.step(env.action_space.sample())
    env.reset(seed=1)
    for key, value in snapshot.items():
        np.testing.assert_array_equal(info[key], value)

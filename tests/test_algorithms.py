"""CC-TD3, CC-SAC, CC-TQC and CC-CrossQ pass the mechanics tests of CC-DDPG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch as th
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_ccddpg.algorithms import CCSAC, CCTD3, CCTQC, CCCrossQ
from sb3_ccddpg.policy_mixins import FeasibleCritic
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg.torch_layers import AllocationHeads, feasible_projection
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv, action_size, canonical_action, observe, project
from tests.test_ccddpg import _RecordSampledActions, assert_feasible_fixed_point

ALGORITHMS = [CCTD3, CCSAC, CCTQC, CCCrossQ]
SMALL = {"learning_starts": 30, "batch_size": 16, "seed": 1}


def small_model(algorithm: type, env: Any, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {**SMALL, **kwargs}
    if algorithm is CCTD3:  # TD3 has no exploration noise of its own
        dimension = action_size(5, 3)
        arguments.setdefault("action_noise", NormalActionNoise(np.zeros(dimension), np.full(dimension, 0.3)))
    return algorithm("MlpPolicy", env, **arguments)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_explored_actions_are_feasible_fixed_points_and_stored_as_executed(algorithm: type) -> None:
    env = DummyVecEnv([lambda: SatGroundEnv(n_uavs=5), lambda: SatGroundEnv(n_uavs=5)])
    model = small_model(algorithm, env)
    recorder = _RecordSampledActions()
    model.learn(100, callback=recorder)
    for actions, buffer_actions, infos in recorder.steps:
        np.testing.assert_array_equal(actions, buffer_actions)
        assert_feasible_fixed_point(actions, 5, 3)
        for action, info in zip(actions, infos, strict=True):
            np.testing.assert_array_equal(info["association"], project(action, 5, 3, 32).association)
    stored = model.replay_buffer.actions[: model.replay_buffer.pos].reshape(-1, action_size(5, 3))
    executed = np.concatenate([a for a, _, _ in recorder.steps])[: len(stored)]
    np.testing.assert_array_equal(stored, executed)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_actor_alone_is_feasible_sampled_or_deterministic(algorithm: type) -> None:
    model = small_model(algorithm, SatGroundEnv(n_uavs=5), policy_kwargs={"decision": "actor"})
    model.learn(60)
    observations = observe(SatGroundConfig(n_uavs=5), np.random.default_rng(0).uniform(100, 1000, (64, 5)), 0.5)
    for deterministic in (True, False):
        actions, _ = model.predict(observations, deterministic=deterministic)
        assert_feasible_fixed_point(actions, 5, 3)
    if algorithm is not CCTD3:  # the stochastic actors: feasible samples with the log-probability of the pre-head sample
        samples, log_prob = model.actor.action_log_prob(th.as_tensor(observations))
        assert_feasible_fixed_point(samples.detach().numpy(), 5, 3)
        assert log_prob.shape == (64,) and th.isfinite(log_prob).all()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_save_load_gives_identical_predictions_and_keeps_scenario_and_decision(algorithm: type, tmp_path: Path) -> None:
    config = SatGroundConfig(n_uavs=5, mu=0.3)
    model = small_model(algorithm, SatGroundEnv(config), policy_kwargs={"decision": "twin-search-exact"})
    model.learn(60)
    observations = observe(config, np.random.default_rng(1).uniform(100, 1000, (10, 5)), 0.3)
    before, _ = model.predict(observations, deterministic=True)
    model.save(tmp_path / "model.zip")
    loaded = algorithm.load(tmp_path / "model.zip")
    after, _ = loaded.predict(observations, deterministic=True)
    np.testing.assert_array_equal(before, after)
    assert loaded.env_config == config and loaded.policy.decision_kwargs["decision"] == "twin-search-exact"
    loaded.set_decision("twin-descent")  # loaded without an env: the scenario it carries is the twin's
    assert loaded.policy.decision_kwargs["decision_config"] == config
    loaded.set_decision("actor")
    with model.policy.actor_alone():
        alone, _ = model.predict(observations, deterministic=True)
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0], alone)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_heads_scales_learn_and_are_recorded(algorithm: type) -> None:
    model = small_model(algorithm, SatGroundEnv(n_uavs=5), policy_kwargs={"decision": "actor"})
    initial = model.actor.alpha0
    model.learn(120)
    prefix = model.scalar_prefix
    assert {f"{prefix}/alpha0", f"{prefix}/alpha_j/0", f"{prefix}/alpha_j/2"} <= set(model.logger.name_to_value)
    assert model.actor.alpha0 != initial  # the scales are trained through the heads


def test_td3s_critic_scores_the_feasible_projection_of_its_smoothed_targets() -> None:
    model = small_model(CCTD3, SatGroundEnv(n_uavs=5))
    assert isinstance(model.critic_target, FeasibleCritic)
    assert len(model.critic.q_networks) == len(model.critic_target.q_networks) == 2  # TD3's clipped double Q
    observations = th.rand(8, 5)
    noisy = (th.rand(8, action_size(5, 3)) * 2 - 1).clamp(-1, 1)  # infeasible
    feasible = th.as_tensor(canonical_action(noisy.numpy(), 5, 3), dtype=th.float32)
    for noisy_q, feasible_q in zip(model.critic(observations, noisy), model.critic(observations, feasible), strict=True):
        th.testing.assert_close(noisy_q, feasible_q)
    np.testing.assert_allclose(feasible_projection(noisy, 5, 3).numpy(), feasible.numpy(), atol=1e-6)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_an_action_space_the_heads_cannot_serve_is_refused_naming_the_layout(algorithm: type) -> None:
    with pytest.raises(ValueError, match="needs a SatGround-v0 env"):
        algorithm("MlpPolicy", "Pendulum-v1")
    wrong = gym.make("Pendulum-v1")
    with pytest.raises(ValueError, match=r"the constraint heads need a Box\(-1, 1, \(20,\)\)"):
        algorithm("MlpPolicy", wrong, policy_kwargs={"n_uavs": 5, "n_satellites": 3})


def test_heads_map_any_pre_head_action_to_a_feasible_one() -> None:
    heads = AllocationHeads(5, 3)
    pre_head = th.randn(256, action_size(5, 3)) * 3
    assert_feasible_fixed_point(heads(pre_head).detach().numpy(), 5, 3)
    simplex = AllocationHeads(4, 0, budget_scale=False)(th.randn(64, 4))
    th.testing.assert_close(simplex.sum(dim=1), th.ones(64))
    assert (simplex >= 0).all()


def test_the_command_line_trains_and_scores_a_constrained_sac(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sb3_ccddpg.cli import main

    run = tmp_path / "ccsac"
    main(["train", "--algorithm", "ccsac", "--n-uavs", "4", "--steps", "300", "--log-dir", str(run), "--eval-states", "0"])
    main(["evaluate", "--model", str(run), "--decisions", "actor", "twin-descent", "--baseline", "oracle", "--n-states", "5"])
    printed = capsys.readouterr().out
    assert "CC-SAC (actor)" in printed and "CC-SAC (twin-descent)" in printed and "oracle" in printed


def test_bench_heads_pairs_each_algorithm_with_its_mlp_policy_and_continues(tmp_path: Path) -> None:
    from sb3_ccddpg.studies.bench.heads import main

    arguments = ["--algorithms", "TD3", "SAC", "--quick", "--output", str(tmp_path)]
    main(arguments)
    rows = pd.read_csv(tmp_path / "heads.csv")
    assert set(rows["agent"]) == {"td3", "cctd3", "sac", "ccsac"}
    assert set(rows.loc[rows["agent"] == "ccsac", "decision"]) == {"actor", DEFAULT_DECISION}
    assert (rows["ratio"] >= 1 - 1e-9).all() and (rows["steps_per_second"] > 0).all()
    assert "| TD3 |" in (tmp_path / "heads.md").read_text() and "| SAC |" in (tmp_path / "heads.md").read_text()
    kept = tmp_path / "rows" / "cctd3_n4_seed0.csv"
    before = kept.stat().st_mtime_ns
    main(arguments)  # every job's rows are kept: nothing is trained again
    assert kept.stat().st_mtime_ns == before


class _OtherAllocation(gym.Env[np.ndarray, np.ndarray]):
    """Not a SatGround: the heads' layout (5 units, 3 groups), a constant reward."""

    observation_space = gym.spaces.Box(0.0, 1.0, (5,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (20,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.full(5, 0.5, np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.full(5, 0.5, np.float32), 0.0, False, False, {}


def test_on_another_env_the_actor_decides_and_the_layout_is_checked() -> None:
    from stable_baselines3.common.vec_env import SubprocVecEnv

    from sb3_ccddpg import CCDDPG
    from sb3_ccddpg.algorithm_mixins import feasible_action
    from tests.test_heads_elsewhere import Portfolio

    layout = {"n_uavs": 5, "n_satellites": 3}
    for algorithm in (CCDDPG, CCTD3, CCSAC):
        assert algorithm("MlpPolicy", _OtherAllocation(), policy_kwargs=layout).policy.decision_kwargs["decision"] == "actor"
    for algorithm in (CCDDPG, CCTD3):  # the paper's actor needs groups
        with pytest.raises(ValueError, match="needs n_satellites ≥ 1, got 0; for a plain simplex"):
            algorithm("MlpPolicy", Portfolio(), policy_kwargs={"n_uavs": 4, "n_satellites": 0})
    workers = SubprocVecEnv([Portfolio, Portfolio])  # an env without a config attribute, in other processes
    try:
        CCSAC("MlpPolicy", workers, policy_kwargs={"n_uavs": 4, "n_satellites": 0, "budget_scale": False})
    finally:
        workers.close()
    exact = feasible_action(np.full((3, 8), 0.1), 2, 3, budget_scale=False)
    np.testing.assert_allclose(exact[:, :2].sum(axis=1), 1.0, rtol=1e-6)


def test_evaluate_takes_a_bare_model_file_of_any_constrained_algorithm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sb3_ccddpg.cli import main

    model = small_model(CCSAC, SatGroundEnv(n_uavs=5), policy_kwargs={"decision": "actor"})
    model.learn(40)
    model.save(tmp_path / "ccsac.zip")
    main(["evaluate", "--model", str(tmp_path / "ccsac.zip"), "--n-states", "5"])
    assert "CC-SAC" in capsys.readouterr().out


def test_bench_heads_refuses_rows_of_other_budgets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sb3_ccddpg.studies.bench.heads import main

    main(["--algorithms", "TD3", "--quick", "--output", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["--algorithms", "TD3", "--quick", "--steps", "400", "--output", str(tmp_path)])
    assert "steps: 300 → 400" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--algorithms", "TD3", "--quick", "--crossq-default-width", "--output", str(tmp_path)])
    assert "crossq_net_arch" in capsys.readouterr().err

"""Ablation agents and the penalty-method wrapper: built by name, scored as trained, penalty where it applies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sb3_ccddpg.agents import AGENT_LABELS, agent_method, make_agent
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg_envs import ConstraintPenaltyWrapper, SatGroundConfig, SatGroundEnv

CONFIG = SatGroundConfig(n_uavs=3, n_satellites=2)


def raw_action(fractions: list[float], shares: list[list[float]]) -> np.ndarray:
    """The raw action in [-1, 1] that the wrapper reads as these fractions and shares."""
    values = np.concatenate([fractions, np.ravel(shares)])
    return (2.0 * values - 1.0).astype(np.float32)


def test_feasible_raw_action_is_scored_as_the_env_scores_it() -> None:
    action = raw_action([0.2, 0.2, 0.2], [[0.5, 0.3, 0.0], [0.1, 0.2, 0.4]])
    wrapped = ConstraintPenaltyWrapper(SatGroundEnv(CONFIG))
    plain = SatGroundEnv(CONFIG)
    wrapped.reset(seed=3)
    plain.reset(seed=3)
    _, reward, _, _, info = wrapped.step(action)
    _, expected, _, _, _ = plain.step(wrapped.action(action))
    assert info["raw_feasible"] and reward == expected


@pytest.mark.parametrize(
    ("fractions", "shares"),
    [
        ([0.5, 0.5, 0.5], [[0.5, 0.3, 0.0], [0.1, 0.2, 0.4]]),  # C5: channel fractions sum to 1.5
        ([0.2, 0.2, 0.001], [[0.5, 0.3, 0.0], [0.1, 0.2, 0.4]]),  # C5: UAV 3 rounds to no channel
        ([0.2, 0.2, 0.2], [[0.6, 0.7, 0.0], [0.1, 0.2, 0.4]]),  # C2: satellite 1's kept shares sum to 1.3
    ],
)
def test_infeasible_raw_action_gets_the_penalty(fractions: list[float], shares: list[list[float]]) -> None:
    env = ConstraintPenaltyWrapper(SatGroundEnv(CONFIG), infeasible_penalty=7.0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(raw_action(fractions, shares))
    assert reward == -7.0 and not info["raw_feasible"]
    assert np.isfinite(info["objective"])  # the decoded allocation is still scored for the record


@pytest.mark.parametrize("penalty", [0.0, -1.0, np.inf, np.nan])
def test_penalty_must_be_positive_and_finite(penalty: float) -> None:
    with pytest.raises(ValueError, match="infeasible_penalty must be a finite number in"):
        ConstraintPenaltyWrapper(SatGroundEnv(CONFIG), infeasible_penalty=penalty)


@pytest.mark.parametrize("algorithm", sorted(AGENT_LABELS))
def test_every_agent_trains_and_evaluates_to_feasible_allocations(algorithm: str) -> None:
    model = make_agent(algorithm, CONFIG, seed=0)
    model.learn(60)
    method = agent_method(model, algorithm, CONFIG)
    assert method.name == AGENT_LABELS[algorithm]
    allocation = method.allocate(np.array([200.0, 500.0, 900.0]), CONFIG.mu)
    assert allocation.channels.min() >= 1 and allocation.channels.sum() <= CONFIG.channels_total
    assert np.all(allocation.cpu_share.sum(axis=1) <= 1.0 + 1e-9)


def test_penalty_agent_reads_actions_as_it_was_trained() -> None:
    model = make_agent("ddpg-penalty", CONFIG, seed=0)
    assert isinstance(model.get_env().envs[0].env, ConstraintPenaltyWrapper)  # type: ignore[union-attr]
    observation = np.array([0.2, 0.5, 0.9], dtype=np.float32)
    action, _ = model.predict(observation, deterministic=True)
    method = agent_method(model, "ddpg-penalty", CONFIG)
    assert method.action_map is not None
    np.testing.assert_allclose(method.action_map(action), (action + 1.0) / 2.0)


def test_agent_trains_on_several_envs_stepped_together() -> None:
    model = make_agent("ccddpg", CONFIG, seed=0, n_envs=3)
    model.learn(60)
    assert model.n_envs == 3 and model.num_timesteps == 60
    assert model.replay_buffer.size() == 20 and model.replay_buffer.n_envs == 3  # 20 steps of the 3 envs
    assert len(model.ep_info_buffer) == 60 // CONFIG.episode_length  # every env's episodes monitored
    allocation = agent_method(model, "ccddpg", CONFIG).allocate(np.array([200.0, 500.0, 900.0]), CONFIG.mu)
    assert allocation.channels.min() >= 1 and allocation.channels.sum() <= CONFIG.channels_total


@pytest.mark.parametrize("n_envs", [0, -2, 1.5])
def test_n_envs_must_be_a_positive_integer(n_envs: Any) -> None:
    with pytest.raises(ValueError, match="n_envs must be an integer ≥ 1"):
        make_agent("ccddpg", CONFIG, seed=0, n_envs=n_envs)


def test_monitor_file_needs_one_env(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="monitor_file needs n_envs=1"):
        make_agent("ccddpg", CONFIG, seed=0, n_envs=2, monitor_file=str(tmp_path / "monitor.csv"))


def test_unknown_agent_is_rejected() -> None:
    with pytest.raises(ValueError, match="algorithm must be one of"):
        make_agent("ppo", CONFIG, seed=0)


def test_paper_variant_decides_with_its_actor_and_the_default_with_the_twin() -> None:
    tuned = {"policy_kwargs": {"branch_width": 8}}  # e.g. from `train --hyperparams`: merged, not replaced
    paper = make_agent("ccddpg-paper", CONFIG, seed=0, **tuned)
    default = make_agent("ccddpg", CONFIG, seed=0, **tuned)
    assert paper.policy.decision_kwargs["decision"] == "actor" and paper.policy.refinement is None
    assert default.policy.decision_kwargs == {"decision": DEFAULT_DECISION, "decision_config": CONFIG}
    assert paper.policy_kwargs["branch_width"] == default.policy_kwargs["branch_width"] == 8

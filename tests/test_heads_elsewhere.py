"""The constraint heads outside SatGround: a portfolio on a simplex, trained by CC-SAC."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from sb3_ccddpg.algorithms import CCSAC


class Portfolio(gym.Env[np.ndarray, np.ndarray]):
    """Each step: K assets' expected returns r ~ U[0, 1]^K; the action is the portfolio w (w ≥ 0, Σw = 1).

    The reward is ``w·r − 0.5·risk·Σw²`` (a concentration penalty, so the best portfolio is interior). An action
    off the simplex is an error here, not repaired: the heads must deliver feasible actions themselves.
    """

    def __init__(self, n_assets: int = 4, risk: float = 0.5) -> None:
        self.n_assets, self.risk = n_assets, risk
        self.observation_space = spaces.Box(0.0, 1.0, (n_assets,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (n_assets,), np.float32)
        self.returns = np.zeros(n_assets, np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.returns = self.np_random.uniform(0.0, 1.0, self.n_assets).astype(np.float32)
        return self.returns.copy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        weights = np.asarray(action, dtype=np.float64)
        if np.any(weights < -1e-7) or abs(weights.sum() - 1.0) > 1e-5:
            raise ValueError(f"a portfolio must be on the simplex, got {weights}")
        reward = float(weights @ self.returns - 0.5 * self.risk * np.sum(weights**2))
        observation, _ = self.reset()
        return observation, reward, False, False, {}


def mean_reward(model: CCSAC, states: np.ndarray, risk: float = 0.5) -> float:
    weights, _ = model.predict(states, deterministic=True)
    return float(np.mean(np.sum(weights * states, axis=1) - 0.5 * risk * np.sum(weights**2, axis=1)))


def test_cc_sac_learns_a_portfolio_and_every_action_is_on_the_simplex() -> None:
    layout = {"n_uavs": 4, "n_satellites": 0, "budget_scale": False}  # a plain simplex over 4 assets
    model = CCSAC(
        "MlpPolicy",
        Portfolio(),
        learning_rate=1e-3,
        learning_starts=100,
        batch_size=64,
        gamma=0.0,
        ent_coef=0.01,
        seed=0,
        policy_kwargs=layout,
    )
    assert model.policy.decision_kwargs["decision"] == "actor"  # no twin outside SatGround
    untrained = mean_reward(model, np.random.default_rng(1).uniform(0, 1, (500, 4)).astype(np.float32))
    model.learn(2000)  # the env raises on any executed action off the simplex, warm-up samples included
    states = np.random.default_rng(1).uniform(0, 1, (500, 4)).astype(np.float32)
    weights, _ = model.predict(states, deterministic=True)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert (weights >= 0).all()
    uniform = float(np.mean(states.mean(axis=1) - 0.5 * 0.5 / 4))
    learned = mean_reward(model, states)
    assert learned > uniform + 0.05 and learned > untrained + 0.05, (learned, uniform, untrained)


def test_a_simplex_head_refuses_a_space_of_another_size() -> None:
    with pytest.raises(ValueError, match=r"the constraint heads need a Box\(-1, 1, \(5,\)\): 5 budget weights"):
        CCSAC("MlpPolicy", Portfolio(), policy_kwargs={"n_uavs": 5, "n_satellites": 0})

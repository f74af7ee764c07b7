"""Wrappers of ``SatGround-v0`` for ablations."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from sb3_ccddpg_envs.decode import split_action
from sb3_ccddpg_envs.feasibility import keep_column_max


class ConstraintPenaltyWrapper(gym.ActionWrapper):
    """The "traditional penalty constraint method" the paper argues against (§3.2), for ablations.

    A raw action ``a ∈ [-1, 1]^(N + M·N)`` is read linearly as ``x = (a + 1)/2 ∈ [0, 1]``: channel fractions
    ``x[:N]`` and the share matrix ``x[N:]`` (φ is each column's argmax, as the paper derives it). Nothing is
    normalised: when the raw choice breaks C5 (``Σ x_i > 1`` or a UAV rounded to no channel) or C2 (a
    satellite's kept shares sum to more than 1), the reward is ``−infeasible_penalty`` instead of the
    objective. Feasible raw actions are executed exactly as chosen (the env's decoder leaves them as they
    are); infeasible ones are still decoded by the env so that ``info`` carries a scored allocation, with
    ``info["raw_feasible"] = False``.

    :param env: a ``SatGround-v0`` env
    :param infeasible_penalty: reward of an infeasible raw action, > 0 (default: the env's reward clip, 10)
    """

    def __init__(self, env: gym.Env, infeasible_penalty: float = 10.0) -> None:
        super().__init__(env)
        if not np.isfinite(infeasible_penalty) or infeasible_penalty <= 0:
            raise ValueError(f"infeasible_penalty must be a finite number in (0, inf), got {infeasible_penalty!r}")
        self.infeasible_penalty = infeasible_penalty
        config = env.unwrapped.config  # type: ignore[attr-defined]
        self.n_uavs, self.n_satellites, self.channels_total = config.n_uavs, config.n_satellites, config.channels_total

    def action(self, action: NDArray[np.float32]) -> NDArray[np.float64]:
        """Map the raw action from [-1, 1] onto [0, 1]."""
        return (np.asarray(action, dtype=np.float64) + 1.0) / 2.0

    def raw_feasible(self, values: NDArray[np.float64]) -> bool:
        """Whether a mapped action meets C5 and C2 without repair."""
        fractions, shares = split_action(values, self.n_uavs, self.n_satellites)
        channels_ok = fractions.sum() <= 1.0 and np.all(np.floor(self.channels_total * fractions + 0.5) >= 1)
        return bool(channels_ok and np.all(keep_column_max(shares).sum(axis=-1) <= 1.0))

    def step(self, action: NDArray[np.float32]) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        values = self.action(action)
        observation, reward, terminated, truncated, info = self.env.step(values)
        feasible = self.raw_feasible(values)
        info["raw_feasible"] = feasible
        return observation, reward if feasible else -self.infeasible_penalty, terminated, truncated, info

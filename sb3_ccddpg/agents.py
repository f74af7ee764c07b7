"""Every learning agent the experiments compare, built by name with the same bandit settings.

CC-DDPG and the ablations the paper's claims need: SB3's ``DDPG``, ``TD3`` and ``SAC`` with their default
``MlpPolicy`` (the env's decoder repairs their actions) and DDPG under the traditional penalty method
(:class:`~sb3_ccddpg_envs.wrappers.ConstraintPenaltyWrapper`). All share γ = 0, learning rate 1e-3,
batch 128, buffer 1e5 and 200 warm-up steps; DDPG and TD3 explore with Gaussian noise σ = 0.05 as CC-DDPG
does, SAC with its own entropy term.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import DDPG, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise

from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.evaluation import PolicyMethod
from sb3_ccddpg_envs import ConstraintPenaltyWrapper, SatGroundConfig, SatGroundEnv, action_size

#: Settings every agent shares (the prototype's measured ones for this contextual bandit).
BANDIT_SETTINGS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 100_000,
    "learning_starts": 200,
    "batch_size": 128,
    "gamma": 0.0,
}
EXPLORATION_NOISE = 0.05

#: Display names of the agents, by the name used on the command line.
AGENT_LABELS = {
    "ccddpg": "CC-DDPG (paper)",
    "ddpg": "DDPG (MlpPolicy)",
    "td3": "TD3 (MlpPolicy)",
    "sac": "SAC (MlpPolicy)",
    "ddpg-penalty": "DDPG (penalty)",
}


def _noise(config: SatGroundConfig) -> NormalActionNoise:
    size = action_size(config.n_uavs, config.n_satellites)
    return NormalActionNoise(np.zeros(size), np.full(size, EXPLORATION_NOISE))


def _ccddpg(env: gym.Env, config: SatGroundConfig, **kwargs: Any) -> BaseAlgorithm:
    return CCDDPG("CCDDPGPolicy", env, exploration_noise=EXPLORATION_NOISE, **BANDIT_SETTINGS, **kwargs)


def _ddpg(env: gym.Env, config: SatGroundConfig, **kwargs: Any) -> BaseAlgorithm:
    return DDPG("MlpPolicy", env, action_noise=_noise(config), **BANDIT_SETTINGS, **kwargs)


def _td3(env: gym.Env, config: SatGroundConfig, **kwargs: Any) -> BaseAlgorithm:
    return TD3("MlpPolicy", env, action_noise=_noise(config), **BANDIT_SETTINGS, **kwargs)


def _sac(env: gym.Env, config: SatGroundConfig, **kwargs: Any) -> BaseAlgorithm:
    return SAC("MlpPolicy", env, **BANDIT_SETTINGS, **kwargs)


_BUILDERS: dict[str, Callable[..., BaseAlgorithm]] = {
    "ccddpg": _ccddpg,
    "ddpg": _ddpg,
    "td3": _td3,
    "sac": _sac,
    "ddpg-penalty": _ddpg,
}


def make_agent(
    algorithm: str, config: SatGroundConfig, seed: int, *, tensorboard_log: str | None = None, verbose: int = 0
) -> BaseAlgorithm:
    """Build an untrained agent on a fresh ``SatGround-v0`` env.

    :param algorithm: one of :data:`AGENT_LABELS`
    :param config: env configuration
    :param seed: seed of the agent and its env
    :param tensorboard_log: TensorBoard folder, or ``None``
    :param verbose: SB3 verbosity
    :return: the agent
    """
    if algorithm not in _BUILDERS:
        raise ValueError(f"algorithm must be one of {sorted(_BUILDERS)}, got {algorithm!r}")
    env: gym.Env = SatGroundEnv(config)
    if algorithm == "ddpg-penalty":
        env = ConstraintPenaltyWrapper(env)
    return _BUILDERS[algorithm](env, config, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose)


def agent_method(model: BaseAlgorithm, algorithm: str, config: SatGroundConfig, name: str | None = None) -> PolicyMethod:
    """A trained agent as an evaluation method; the penalty agent's raw actions are read as it was trained.

    :param model: the trained agent
    :param algorithm: the name it was built with
    :param config: env configuration
    :param name: label in tables; default from :data:`AGENT_LABELS`
    :return: the method
    """
    label = AGENT_LABELS[algorithm] if name is None else name
    if algorithm == "ddpg-penalty":
        return PolicyMethod(model, config, label, action_map=lambda action: (action + 1.0) / 2.0)
    return PolicyMethod(model, config, label)

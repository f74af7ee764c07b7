"""Every learning agent the experiments compare, built by name with the same bandit settings.

CC-DDPG in its default configuration (``"ccddpg"``: the paper's training, decisions refined by the twin,
:data:`~sb3_ccddpg.solvers.search.DEFAULT_DECISION`), the paper's variant (``"ccddpg-paper"``: the actor decides
alone, what the paper's Figs 4–6 rows use), the constraint heads on the other off-policy algorithms
(``"cctd3"``, ``"ccsac"``, ``"cctqc"``, ``"cccrossq"``: :mod:`sb3_ccddpg.algorithms`, default decision) and the
ablations: SB3's ``DDPG``, ``TD3`` and ``SAC`` and sb3-contrib's ``TQC`` and ``CrossQ`` with their default
``MlpPolicy`` (the env's decoder repairs their actions), and DDPG under the traditional penalty method
(:class:`~sb3_ccddpg_envs.wrappers.ConstraintPenaltyWrapper`). All share γ = 0, learning rate 1e-3, batch 128,
buffer 1e5 and 200 warm-up steps; the deterministic actors (DDPG, TD3 and their CC versions) explore with
Gaussian noise σ = 0.05 as CC-DDPG does, the squashed-Gaussian ones (SAC, TQC, CrossQ) with their entropy term.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from sb3_contrib import TQC, CrossQ
from stable_baselines3 import DDPG, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from sb3_ccddpg.algorithms import CCSAC, CCTD3, CCTQC, CCCrossQ
from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.evaluation import PolicyMethod
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
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
    "ccddpg": f"CC-DDPG ({DEFAULT_DECISION})",
    "ccddpg-paper": "CC-DDPG (paper)",
    "ddpg": "DDPG (MlpPolicy)",
    "td3": "TD3 (MlpPolicy)",
    "sac": "SAC (MlpPolicy)",
    "tqc": "TQC (MlpPolicy)",
    "crossq": "CrossQ (MlpPolicy)",
    "ddpg-penalty": "DDPG (penalty)",
    "cctd3": f"CC-TD3 ({DEFAULT_DECISION})",
    "ccsac": f"CC-SAC ({DEFAULT_DECISION})",
    "cctqc": f"CC-TQC ({DEFAULT_DECISION})",
    "cccrossq": f"CC-CrossQ ({DEFAULT_DECISION})",
}


#: The algorithm class of each agent, for loading a saved one.
AGENT_CLASSES: dict[str, type[OffPolicyAlgorithm]] = {
    "ccddpg": CCDDPG,
    "ccddpg-paper": CCDDPG,
    "ddpg": DDPG,
    "td3": TD3,
    "sac": SAC,
    "tqc": TQC,
    "crossq": CrossQ,
    "ddpg-penalty": DDPG,
    "cctd3": CCTD3,
    "ccsac": CCSAC,
    "cctqc": CCTQC,
    "cccrossq": CCCrossQ,
}
#: Agents whose actor ends in the constraint heads (every action feasible by construction).
CONSTRAINED = ("ccddpg", "ccddpg-paper", "cctd3", "ccsac", "cctqc", "cccrossq")
#: Agents that explore with the entropy of a squashed Gaussian instead of Gaussian action noise.
STOCHASTIC = ("sac", "tqc", "crossq", "ccsac", "cctqc", "cccrossq")


def _noise(config: SatGroundConfig, sigma: float) -> NormalActionNoise:
    size = action_size(config.n_uavs, config.n_satellites)
    return NormalActionNoise(np.zeros(size), np.full(size, sigma))


def make_env(algorithm: str, config: SatGroundConfig, monitor_file: str | None = None) -> gym.Env:
    """The env an agent trains on: ``SatGround-v0`` (with the penalty wrapper for ``"ddpg-penalty"``).

    :param algorithm: one of :data:`AGENT_LABELS`
    :param config: env configuration
    :param monitor_file: where SB3's :class:`~stable_baselines3.common.monitor.Monitor` appends episode
        rewards and lengths (CSV), or ``None``
    :return: the env
    """
    if algorithm not in AGENT_LABELS:
        raise ValueError(f"algorithm must be one of {sorted(AGENT_LABELS)}, got {algorithm!r}")
    env: gym.Env = SatGroundEnv(config)
    if algorithm == "ddpg-penalty":
        env = ConstraintPenaltyWrapper(env)
    if monitor_file is not None:
        # Appended to when it exists (a resumed run); SB3 writes the CSV header only when it overrides.
        env = Monitor(env, monitor_file, override_existing=not Path(monitor_file).exists())
    return env


def make_vec_env(algorithm: str, config: SatGroundConfig, n_envs: int) -> VecEnv:
    """``n_envs`` copies of the env an agent trains on, each with SB3's ``Monitor``, stepped together in this
    process.

    :param algorithm: one of :data:`AGENT_LABELS`
    :param config: env configuration
    :param n_envs: number of envs, ≥ 1; the agent's seed seeds them (seed, seed + 1, …)
    :return: the vectorised env
    """
    if not isinstance(n_envs, int) or n_envs < 1:
        raise ValueError(f"n_envs must be an integer ≥ 1, got {n_envs!r}")
    return DummyVecEnv([lambda: Monitor(make_env(algorithm, config))] * n_envs)


def make_agent(
    algorithm: str,
    config: SatGroundConfig,
    seed: int,
    *,
    n_envs: int = 1,
    tensorboard_log: str | None = None,
    monitor_file: str | None = None,
    verbose: int = 0,
    **hyperparameters: Any,
) -> BaseAlgorithm:
    """Build an untrained agent on a fresh ``SatGround-v0`` env.

    :param algorithm: one of :data:`AGENT_LABELS`
    :param config: env configuration
    :param seed: seed of the agent and its env
    :param n_envs: envs stepped together (:func:`make_vec_env`); with SB3's default ``train_freq`` and
        ``gradient_steps``, one gradient step per ``n_envs`` transitions
    :param tensorboard_log: TensorBoard folder, or ``None``
    :param monitor_file: CSV of episode rewards (see :func:`make_env`), or ``None``; only with one env
    :param verbose: SB3 verbosity
    :param hyperparameters: constructor arguments replacing :data:`BANDIT_SETTINGS` (and, for DDPG and TD3,
        ``exploration_noise``: σ of their Gaussian action noise; for CC-DDPG, ``policy``: ``"SetPolicy"`` instead
        of the paper's ``"CCDDPGPolicy"``)
    :return: the agent
    """
    env: gym.Env | VecEnv
    if n_envs == 1:
        env = make_env(algorithm, config, monitor_file)
    elif monitor_file is not None:
        raise ValueError(f"monitor_file needs n_envs=1, got n_envs={n_envs!r}")
    else:
        env = make_vec_env(algorithm, config, n_envs)
    settings = {**BANDIT_SETTINGS, "seed": seed, "tensorboard_log": tensorboard_log, "verbose": verbose}
    settings.update(hyperparameters)
    sigma = settings.pop("exploration_noise", EXPLORATION_NOISE)
    if algorithm == "ccddpg-paper":
        settings["policy_kwargs"] = {**settings.get("policy_kwargs", {}), "decision": "actor"}
    if algorithm in ("ccddpg", "ccddpg-paper"):
        policy = settings.pop("policy", "CCDDPGPolicy")
        return CCDDPG(policy, env, exploration_noise=sigma, **settings)
    if algorithm in STOCHASTIC:
        return AGENT_CLASSES[algorithm]("MlpPolicy", env, **settings)
    return AGENT_CLASSES[algorithm]("MlpPolicy", env, action_noise=_noise(config, sigma), **settings)


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

"""CC-DDPG: DDPG whose actor emits only feasible allocations (Li and Han, paper §3.2–3.3)."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from stable_baselines3 import DDPG
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy, with_default_decision
from sb3_ccddpg.policies import CCDDPGPolicy, ConstrainedActor
from sb3_ccddpg_envs.decode import action_size

SelfCCDDPG = TypeVar("SelfCCDDPG", bound="CCDDPG")


class CCDDPG(ConstrainedOffPolicy, DDPG):
    """Coordinated Constrained DDPG (CC-DDPG).

    Paper: Li and Han, "Digital Twin-Assisted Satellite-Ground Cooperative Edge Network Resource Optimization
    Method" (§3.2–3.3). Built on SB3's DDPG (``stable_baselines3/ddpg/ddpg.py``) with the policy
    :class:`~sb3_ccddpg.policies.CCDDPGPolicy`, whose actor ends in constraint heads.

    Exploration stays feasible: Gaussian noise of ``exploration_noise`` (action units) is added to the actor's
    output by SB3, and every executed action, warm-up samples included, is then re-projected by the decoder's
    continuous steps (:func:`~sb3_ccddpg_envs.decode.canonical_action`, spec §6 steps 1, 3, 4). The re-projected
    action is both the one stored in the replay buffer and the one executed, and the env decodes it to itself.

    Defaults are the prototype's measured ones for this contextual bandit: a slot's data sizes do not depend
    on the previous action, so γ = 0 (SB3's 0.99 lost most of the margin), σ = 0.05, learning rate 1e-3,
    batch 128, buffer 1e5, 200 warm-up steps.

    :param policy: ``"CCDDPGPolicy"`` (alias ``"MlpPolicy"``) or a subclass of :class:`CCDDPGPolicy`
    :param env: the environment, ``"SatGround-v0"`` or an instance; N and M are read from its ``config``
        unless ``policy_kwargs`` gives ``n_uavs`` and ``n_satellites``
    :param learning_rate: Adam learning rate of actor and critic, or a schedule of the remaining progress
    :param buffer_size: replay buffer size (transitions)
    :param learning_starts: warm-up steps of uniformly random (re-projected) actions before learning
    :param batch_size: minibatch size of each gradient step
    :param tau: soft update coefficient of the target networks
    :param gamma: discount factor; 0 for the bandit
    :param train_freq: update the model every ``train_freq`` steps, or ``(n, "step" | "episode")``
    :param gradient_steps: gradient steps per update (-1: as many as env steps collected)
    :param exploration_noise: σ of the Gaussian exploration noise in action units, ≥ 0; used when
        ``action_noise`` is ``None`` (0 disables exploration noise)
    :param action_noise: a custom SB3 action noise, replacing ``exploration_noise``
    :param refine_exploration: with a twin-assisted ``decision`` (policy keyword), also refine the actions
        explored during training, so the critic learns on refined actions; ``False`` explores with the actor
        alone, as the paper does, and the decision mode applies only when acting (``predict``)
    :param replay_buffer_class: replay buffer class
    :param replay_buffer_kwargs: its keyword arguments
    :param optimize_memory_usage: SB3's memory-efficient replay buffer variant
    :param n_steps: n-step returns (1: plain one-step targets)
    :param tensorboard_log: TensorBoard log folder (``None``: no logging)
    :param policy_kwargs: keyword arguments of the policy (net_arch, branch_width, alpha0_init, alpha_init,
        learnable_scales, ...)
    :param verbose: 0 silent, 1 info, 2 debug
    :param seed: seed of every random generator
    :param device: torch device
    :param _init_setup_model: build the networks at construction
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": CCDDPGPolicy,
        "CCDDPGPolicy": CCDDPGPolicy,
    }
    constrained_policy = CCDDPGPolicy
    scalar_prefix = "ccddpg"
    policy: CCDDPGPolicy
    actor: ConstrainedActor
    actor_target: ConstrainedActor

    def __init__(
        self,
        policy: str | type[CCDDPGPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-3,
        buffer_size: int = 100_000,
        learning_starts: int = 200,
        batch_size: int = 128,
        tau: float = 0.005,
        gamma: float = 0.0,
        *,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        exploration_noise: float = 0.05,
        action_noise: ActionNoise | None = None,
        refine_exploration: bool = False,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if not np.isfinite(exploration_noise) or exploration_noise < 0:
            raise ValueError(f"exploration_noise must be a finite number in [0, inf), got {exploration_noise!r}")
        super().__init__(
            policy=policy,
            env=env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            action_noise=action_noise,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            tensorboard_log=tensorboard_log,
            policy_kwargs=with_default_decision(policy_kwargs, env),
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.exploration_noise = exploration_noise
        self.refine_exploration = refine_exploration
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._prepare_policy_kwargs()
        if self.action_noise is None and self.exploration_noise > 0:
            dimension = action_size(self.policy_kwargs["n_uavs"], self.policy_kwargs["n_satellites"])
            self.action_noise = NormalActionNoise(np.zeros(dimension), np.full(dimension, self.exploration_noise))
        super()._setup_model()

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's DDPG update, then α0 and α_j recorded as ``ccddpg/alpha0`` and ``ccddpg/alpha_j/<j>`` (the mixin's).

        With a relaxed assignment (``assignment_temperature``) the temperature is annealed linearly from its
        initial value to a tenth of it over the run, and recorded as ``ccddpg/assignment_temperature``.
        """
        initial = self.policy.head_kwargs.get("assignment_temperature")
        if initial is not None:
            temperature = initial * (0.1 + 0.9 * self._current_progress_remaining)
            self.actor.share_head.temperature = self.actor_target.share_head.temperature = temperature
            self.logger.record("ccddpg/assignment_temperature", temperature)
        super().train(gradient_steps, batch_size)

    def learn(
        self: SelfCCDDPG,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "CCDDPG",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfCCDDPG:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

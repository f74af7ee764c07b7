"""CC-DDPG: DDPG whose actor emits only feasible allocations (Li and Han, paper §3.2–3.3)."""

from __future__ import annotations

import io
import pathlib
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from stable_baselines3 import DDPG
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy, satground_config, with_default_decision
from sb3_ccddpg.expert_iteration import TeacherReplayBuffer, imitation_loss
from sb3_ccddpg.policies import CCDDPGPolicy, ConstrainedActor
from sb3_ccddpg.set_policy import SetActor, SetPolicy, check_satellite_slots
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
    :param imitation_weight: λ of expert iteration (:mod:`sb3_ccddpg.expert_iteration`; needs ``"SetPolicy"``):
        every stored transition is labelled with ``"twin-descent"`` from its executed action, and after each
        update the actor takes ``gradient_steps`` more steps on λ × the label-symmetric imitation loss; 0 (the
        default): no imitation
    :param critic_gradient: whether the actor also follows the critic (DDPG's −Q loss; the critic is trained only
        then); ``False`` with ``imitation_weight > 0`` trains the actor on the imitation loss alone
    :param replay_buffer_class: replay buffer class
    :param replay_buffer_kwargs: its keyword arguments
    :param optimize_memory_usage: SB3's memory-efficient replay buffer variant
    :param n_steps: n-step returns (1: plain one-step targets)
    :param tensorboard_log: TensorBoard log folder (``None``: no logging)
    :param policy_kwargs: keyword arguments of the policy (net_arch, branch_width, alpha0_init, alpha_init,
        learnable_scales, ...; for ``"SetPolicy"``: :class:`~sb3_ccddpg.set_policy.SetPolicy`'s)
    :param verbose: 0 silent, 1 info, 2 debug
    :param seed: seed of every random generator
    :param device: torch device
    :param _init_setup_model: build the networks at construction
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": CCDDPGPolicy,
        "CCDDPGPolicy": CCDDPGPolicy,
        "SetPolicy": SetPolicy,
    }
    constrained_policy = CCDDPGPolicy
    other_policies = (SetPolicy,)
    scalar_prefix = "ccddpg"
    policy: CCDDPGPolicy | SetPolicy
    actor: ConstrainedActor | SetActor
    actor_target: ConstrainedActor | SetActor

    def __init__(
        self,
        policy: str | type[CCDDPGPolicy] | type[SetPolicy],
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
        imitation_weight: float = 0.0,
        critic_gradient: bool = True,
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
        if not np.isfinite(imitation_weight) or imitation_weight < 0:
            raise ValueError(f"imitation_weight must be a finite number in [0, inf), got {imitation_weight!r}")
        if not critic_gradient and imitation_weight == 0:
            raise ValueError("critic_gradient=False leaves the actor nothing to learn from; give imitation_weight > 0")
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
        self.imitation_weight = imitation_weight
        self.critic_gradient = critic_gradient
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._prepare_policy_kwargs()
        if self.action_noise is None and self.exploration_noise > 0:
            dimension = action_size(self.policy_kwargs["n_uavs"], self.policy_kwargs["n_satellites"])
            self.action_noise = NormalActionNoise(np.zeros(dimension), np.full(dimension, self.exploration_noise))
        if self.imitation_weight > 0:
            self._use_teacher_buffer()
        super()._setup_model()

    def _use_teacher_buffer(self) -> None:
        """Expert iteration's checks, and its replay buffer (which labels every transition it stores)."""
        if not issubclass(self.policy_class, SetPolicy):
            raise ValueError(f"imitation_weight > 0 needs policy 'SetPolicy' (its actor's parts), got {self.policy_class!r}")
        if self.env_config is None:
            raise ValueError("imitation_weight > 0 needs a SatGround-v0 env: the teacher scores on its configuration")
        if self.replay_buffer_class is None:
            self.replay_buffer_class = TeacherReplayBuffer
        if not issubclass(self.replay_buffer_class, TeacherReplayBuffer):
            raise ValueError(f"imitation_weight > 0 needs a TeacherReplayBuffer, got {self.replay_buffer_class!r}")
        self.replay_buffer_kwargs = {"decision_config": self.env_config, **self.replay_buffer_kwargs}

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's DDPG update, then α0 and α_j recorded as ``ccddpg/alpha0`` and ``ccddpg/alpha_j/<j>`` (the mixin's).

        With a relaxed assignment (``assignment_temperature``) the temperature is annealed linearly from its
        initial value to a tenth of it over the run, and recorded as ``ccddpg/assignment_temperature``. With
        expert iteration (``imitation_weight``) the actor then takes as many steps on the imitation loss, recorded
        as ``ccddpg/imitation_loss``, its terms (``ccddpg/imitation_assignment_loss``, ``..._channel_loss``,
        ``..._share_loss``), ``ccddpg/imitation_agreement`` and the mean state-dependent scales of the batch
        (``ccddpg/state_alpha0``, ``ccddpg/state_row_scale``); without ``critic_gradient`` only those steps.
        """
        initial = self.policy.head_kwargs.get("assignment_temperature")
        if (
            initial is not None
            and isinstance(self.actor, ConstrainedActor)
            and isinstance(self.actor_target, ConstrainedActor)
        ):
            temperature = initial * (0.1 + 0.9 * self._current_progress_remaining)
            self.actor.share_head.temperature = self.actor_target.share_head.temperature = temperature
            self.logger.record("ccddpg/assignment_temperature", temperature)
        if self.critic_gradient:
            super().train(gradient_steps, batch_size)
        else:
            self._update_learning_rate([self.actor.optimizer])
        if self.imitation_weight > 0:
            self._imitate(gradient_steps, batch_size)

    def _imitate(self, gradient_steps: int, batch_size: int) -> None:
        """``gradient_steps`` actor steps on λ × :func:`~sb3_ccddpg.expert_iteration.imitation_loss`."""
        actor = self.actor
        assert isinstance(actor, SetActor) and self.replay_buffer is not None  # checked in _setup_model
        self.policy.set_training_mode(True)
        n_uavs, n_satellites = actor.n_uavs, actor.n_satellites
        for _ in range(gradient_steps):
            samples = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            parts = actor.parts(samples.observations)
            loss, record = imitation_loss(parts, samples.teacher_actions, n_uavs, n_satellites)  # type: ignore[attr-defined]
            actor.optimizer.zero_grad()
            (self.imitation_weight * loss).backward()
            actor.optimizer.step()
        self.logger.record("ccddpg/imitation_loss", float(loss.item()))
        for name, value in record.items():
            self.logger.record(f"ccddpg/imitation_{name}", value)
        self.logger.record("ccddpg/state_alpha0", float(parts["alpha0"].mean().item()))
        self.logger.record("ccddpg/state_row_scale", float(parts["row_scales"].mean().item()))
        if not self.critic_gradient:
            self.logger.record(f"{self.scalar_prefix}/alpha0", actor.alpha0)

    def resized(self, env: GymEnv) -> CCDDPG:
        """This model deciding for ``env``'s N and M: the same weights (a ``SetPolicy``'s do not depend on N or M ≤
        its slots), the same settings, fresh optimisers and an empty replay buffer.

        :param env: a ``SatGround-v0`` env of any size the policy serves
        :return: a new model attached to ``env``
        :raises ValueError: naming both sizes, when the policy's weights cannot serve ``env``'s
        """
        config = satground_config(env)
        if config is None:
            raise ValueError(f"resized needs a SatGround-v0 env (its config gives N and M), got {env!r}")
        n_uavs, n_satellites = self.policy_kwargs["n_uavs"], self.policy_kwargs["n_satellites"]
        sizes = (
            f"the model was built for N = {n_uavs}, M = {n_satellites}; "
            f"the env has N = {config.n_uavs}, M = {config.n_satellites}"
        )
        if not issubclass(self.policy_class, SetPolicy):
            raise ValueError(
                f"{sizes}, and a {self.policy_class.__name__}'s weights serve its own sizes only; a model built with "
                "policy 'SetPolicy' serves any N (and M up to its max_satellites)"
            )
        max_satellites = self.policy_kwargs.get("max_satellites", self.policy.head_kwargs["max_satellites"])
        try:
            check_satellite_slots(config.n_uavs, config.n_satellites, max_satellites)
        except ValueError as error:
            raise ValueError(f"{sizes}: {error}") from None
        kept = ("n_uavs", "n_satellites", "decision_config")
        policy_kwargs = {name: value for name, value in self.policy_kwargs.items() if name not in kept}
        resized = type(self)(
            self.policy_class,
            env,
            learning_rate=self.learning_rate,
            buffer_size=self.buffer_size,
            learning_starts=self.learning_starts,
            batch_size=self.batch_size,
            tau=self.tau,
            gamma=self.gamma,
            train_freq=self.train_freq,
            gradient_steps=self.gradient_steps,
            exploration_noise=self.exploration_noise,
            refine_exploration=self.refine_exploration,
            imitation_weight=self.imitation_weight,
            critic_gradient=self.critic_gradient,
            policy_kwargs=policy_kwargs,
            verbose=self.verbose,
            seed=self.seed,
            device=self.device,
        )
        resized.policy.load_state_dict(self.policy.state_dict())
        return resized

    @classmethod
    def load(
        cls,
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> CCDDPG:
        """SB3's ``load``; given a ``SatGround-v0`` env of other sizes than the model's, the model
        :meth:`resized` for it (a ``SetPolicy``'s weights serve any N; others raise naming both sizes)."""
        if env is not None and not isinstance(path, io.BufferedIOBase):
            data, _, _ = load_from_zip_file(path, load_data=True, custom_objects=custom_objects, device=device)
            config = satground_config(env)
            saved = (data or {}).get("policy_kwargs", {})
            if config is not None and (saved.get("n_uavs"), saved.get("n_satellites")) != (config.n_uavs, config.n_satellites):
                model = super().load(path, env=None, device=device, custom_objects=custom_objects, **kwargs)
                return model.resized(env)
        return super().load(
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )

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

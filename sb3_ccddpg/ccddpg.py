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

from sb3_ccddpg.policies import CCDDPGPolicy, ConstrainedActor
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg_envs import SatGroundConfig
from sb3_ccddpg_envs.decode import action_size, canonical_action

SelfCCDDPG = TypeVar("SelfCCDDPG", bound="CCDDPG")


class CCDDPG(DDPG):
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
    policy: CCDDPGPolicy
    actor: ConstrainedActor
    actor_target: ConstrainedActor
    #: The configuration of the ``SatGround-v0`` env the model was built for (its scenario): saved with the
    #: model, so ``CCDDPG.load(path).env_config`` rebuilds the env it decides for (``SatGroundEnv(config)``).
    #: ``None`` for a model built without a SatGround env (or saved before the attribute existed).
    env_config: SatGroundConfig | None = None

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
            # The default decision is written into policy_kwargs, so a saved model keeps the one it was built with.
            policy_kwargs={"decision": DEFAULT_DECISION, **(policy_kwargs or {})},
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
        if not (isinstance(self.policy_class, type) and issubclass(self.policy_class, CCDDPGPolicy)):
            raise ValueError(f"CCDDPG needs a CCDDPGPolicy (or subclass), got {self.policy_class!r}")
        env_config = self._env_config()
        if self.env_config is None:  # a loaded model keeps the scenario it was built for
            self.env_config = env_config or self.policy_kwargs.get("decision_config")
        if env_config is not None:
            self.policy_kwargs.setdefault("n_uavs", env_config.n_uavs)
            self.policy_kwargs.setdefault("n_satellites", env_config.n_satellites)
        # Models saved before decision modes existed have none in their policy_kwargs: their actor decided alone.
        self.policy_kwargs.setdefault("decision", "actor")
        if self.refine_exploration and self.policy_kwargs["decision"] == "actor":
            raise ValueError("refine_exploration=True needs a twin-assisted decision (policy_kwargs['decision']), got 'actor'")
        if env_config is not None and self.policy_kwargs["decision"] != "actor":
            self.policy_kwargs.setdefault("decision_config", env_config)
        if self.action_noise is None and self.exploration_noise > 0:
            dimension = action_size(self.policy_kwargs["n_uavs"], self.policy_kwargs["n_satellites"])
            self.action_noise = NormalActionNoise(np.zeros(dimension), np.full(dimension, self.exploration_noise))
        super()._setup_model()
        self.policy_kwargs.update(self.policy.decision_kwargs)  # "auto" is saved as the mode it chose

    def _sample_action(
        self, learning_starts: int, action_noise: ActionNoise | None = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """SB3's exploration (warm-up sample or actor output plus noise, clipped), re-projected to a feasible action.

        The actor's output is refined by the policy's decision mode only with ``refine_exploration``.

        :return: the executed action and the replay-buffer action: the same array
        """
        if self.refine_exploration:
            action, _ = super()._sample_action(learning_starts, action_noise, n_envs)
        else:
            with self.policy.actor_alone():
                action, _ = super()._sample_action(learning_starts, action_noise, n_envs)
        feasible = canonical_action(action, self.policy_kwargs["n_uavs"], self.policy_kwargs["n_satellites"])
        feasible = feasible.astype(np.float32)
        return feasible, feasible

    def _env_config(self) -> SatGroundConfig | None:
        """The configuration of the ``SatGround-v0`` env the model is attached to, if any.

        :raises ValueError: when the env is not a ``SatGround-v0`` (it has no ``SatGroundConfig``) and
            ``policy_kwargs`` does not give the action layout (``n_uavs`` and ``n_satellites``) either
        """
        if self.env is None:
            return None
        try:
            config = self.env.get_attr("config")[0]
        except AttributeError:
            config = None
        if isinstance(config, SatGroundConfig):
            return config
        if {"n_uavs", "n_satellites"} <= set(self.policy_kwargs):
            return None
        spec = self.env.get_attr("spec")[0]
        env_name = "this env" if spec is None else spec.id
        raise ValueError(
            f"CCDDPG needs a SatGround-v0 env (its SatGroundConfig gives N and M), got {env_name} with action space "
            f"{self.action_space}; for another env whose action is Box(-1, 1, (N + M·N,)) (N channel weights, then "
            "an M×N share matrix row by row), give policy_kwargs n_uavs and n_satellites"
        )

    def set_decision(self, decision: str, config: SatGroundConfig | None = None) -> None:
        """Choose how the trained policy decides (see :meth:`CCDDPGPolicy.set_decision`); kept by ``save``.

        :param decision: one of :data:`~sb3_ccddpg.solvers.search.DECISIONS`
        :param config: the env configuration the refinement scores with; default: the one the policy already
            has, else the env's
        """
        if config is None and decision != "actor":
            config = self.policy.decision_kwargs["decision_config"] or self._env_config()
        self.policy.set_decision(decision, config)
        self.policy_kwargs.update(self.policy.decision_kwargs)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's DDPG update, then α0 and α_j recorded as ``ccddpg/alpha0`` and ``ccddpg/alpha_j/<j>``.

        With a relaxed assignment (``assignment_temperature``) the temperature is annealed linearly from its
        initial value to a tenth of it over the run, and recorded as ``ccddpg/assignment_temperature``.
        """
        initial = self.policy.head_kwargs.get("assignment_temperature")
        if initial is not None:
            temperature = initial * (0.1 + 0.9 * self._current_progress_remaining)
            self.actor.share_head.temperature = self.actor_target.share_head.temperature = temperature
            self.logger.record("ccddpg/assignment_temperature", temperature)
        super().train(gradient_steps, batch_size)
        self.logger.record("ccddpg/alpha0", self.actor.alpha0)
        for j, alpha in enumerate(self.actor.alpha):
            self.logger.record(f"ccddpg/alpha_j/{j}", alpha)

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

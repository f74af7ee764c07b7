"""What every constrained SB3 algorithm shares (a mixin placed before the SB3 algorithm class).

:class:`ConstrainedOffPolicy` reads N and M from a ``SatGround-v0`` env (or ``policy_kwargs``), keeps the
scenario with the model (:attr:`~ConstrainedOffPolicy.env_config`), makes every explored action feasible
(warm-up samples included) so that the action executed is the action stored, switches decision modes
(:meth:`~ConstrainedOffPolicy.set_decision`) and records the heads' scales to TensorBoard.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.vec_env import VecEnv

from sb3_ccddpg.policy_mixins import TwinDecisions
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg_envs import SatGroundConfig
from sb3_ccddpg_envs.decode import canonical_action

__all__ = ["ConstrainedOffPolicy", "feasible_action", "satground_config", "with_default_decision"]


def with_default_decision(policy_kwargs: dict[str, Any] | None, env: Any = "SatGround-v0") -> dict[str, Any]:
    """``policy_kwargs`` with the default decision written in, so a saved model keeps the one it was built with.

    :param policy_kwargs: the user's policy keyword arguments
    :param env: the algorithm's env (an id or an instance): the default is
        :data:`~sb3_ccddpg.solvers.search.DEFAULT_DECISION` on a ``SatGround-v0``, the actor alone elsewhere
        (the twin's search needs a ``SatGroundConfig``)
    :return: the policy keyword arguments, ``decision`` included
    """
    return {"decision": DEFAULT_DECISION if _is_satground(env) else "actor", **(policy_kwargs or {})}


def _is_satground(env: Any) -> bool:
    if isinstance(env, str):
        return env.split(":")[-1].startswith("SatGround")
    return satground_config(env) is not None


def satground_config(env: Any) -> SatGroundConfig | None:
    """The ``SatGroundConfig`` of an env instance, a ``VecEnv`` of them or a wrapper; ``None`` if it has none."""
    if isinstance(env, VecEnv):
        config = env.get_attr("config")[0] if env.has_attr("config") else None
    else:
        config = getattr(getattr(env, "unwrapped", env), "config", None)
    return config if isinstance(config, SatGroundConfig) else None


def feasible_action(action: np.ndarray, n_uavs: int, n_satellites: int, budget_scale: bool = True) -> np.ndarray:
    """The decoder's continuous steps for the heads' layout (NumPy): feasible and a fixed point of the heads.

    :param action: shape ``(..., N + M·N)``
    :param n_uavs: N
    :param n_satellites: M (0: a plain simplex over N)
    :param budget_scale: ``False``: the budget sums to exactly 1 (``|a|/Σ|a|``, uniform for a zero action)
    :return: float32 actions, same shape
    """
    if n_satellites:
        canonical = canonical_action(action, n_uavs, n_satellites)
        if not budget_scale:  # the budget sums to exactly 1, as the heads' output does
            budget = canonical[..., :n_uavs]
            canonical[..., :n_uavs] = budget / budget.sum(axis=-1, keepdims=True)  # > 0: canonical_action's rule
        return canonical.astype(np.float32)
    magnitude = np.abs(np.asarray(action, dtype=np.float64))
    total = magnitude.sum(axis=-1, keepdims=True)
    uniform = np.full_like(magnitude, 1.0 / n_uavs)
    if budget_scale:
        return np.where(total > 1.0, magnitude / np.where(total > 0, total, 1.0), magnitude).astype(np.float32)
    return np.where(total > 0, magnitude / np.where(total > 0, total, 1.0), uniform).astype(np.float32)


class ConstrainedOffPolicy:
    """Constrained actions for an SB3 off-policy algorithm (see the module docstring)."""

    #: The policy class (or a base of it) the algorithm needs.
    constrained_policy: ClassVar[type[TwinDecisions]]
    #: Other policy classes it takes (CC-DDPG's :class:`~sb3_ccddpg.set_policy.SetPolicy`).
    other_policies: ClassVar[tuple[type[TwinDecisions], ...]] = ()
    #: Prefix of the scalars the algorithm records (``<prefix>/alpha0``, ``<prefix>/alpha_j/<j>``).
    scalar_prefix: ClassVar[str]
    #: The configuration of the ``SatGround-v0`` env the model was built for (its scenario): saved with the
    #: model, so ``<Algorithm>.load(path).env_config`` rebuilds the env it decides for (``SatGroundEnv(config)``).
    #: ``None`` for a model built without a SatGround env (or saved before the attribute existed).
    env_config: SatGroundConfig | None = None
    #: Whether explored actions are refined by the decision mode too (only CC-DDPG offers it).
    refine_exploration: bool = False

    policy: Any
    policy_class: Any
    policy_kwargs: dict[str, Any]
    env: Any
    action_space: Any
    logger: Any
    actor: Any

    def _prepare_policy_kwargs(self) -> None:
        """Check the policy class; fill ``n_uavs``, ``n_satellites``, ``decision_config`` from the env (idempotent)."""
        name = type(self).__name__
        allowed = (self.constrained_policy, *self.other_policies)
        if not (isinstance(self.policy_class, type) and issubclass(self.policy_class, allowed)):
            names = " or ".join(policy.__name__ for policy in allowed)
            raise ValueError(f"{name} needs a {names} (or subclass), got {self.policy_class!r}")
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

    def _setup_model(self) -> None:
        self._prepare_policy_kwargs()
        super()._setup_model()  # type: ignore[misc]
        self.policy_kwargs.update(self.policy.decision_kwargs)  # "auto" is saved as the mode it chose

    def _sample_action(
        self, learning_starts: int, action_noise: ActionNoise | None = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """SB3's exploration (a warm-up sample, or the actor's action with its noise), made feasible.

        The actor's action is refined by the policy's decision mode only with ``refine_exploration``; the
        result is re-projected by the decoder's continuous steps, so the executed and the stored action are
        the same feasible array.

        :return: the executed action and the replay-buffer action: the same array
        """
        if self.refine_exploration:
            action, _ = super()._sample_action(learning_starts, action_noise, n_envs)  # type: ignore[misc]
        else:
            with self.policy.actor_alone():
                action, _ = super()._sample_action(learning_starts, action_noise, n_envs)  # type: ignore[misc]
        kwargs = self.policy_kwargs
        feasible = feasible_action(action, kwargs["n_uavs"], kwargs["n_satellites"], kwargs.get("budget_scale", True))
        return feasible, feasible

    def _env_config(self) -> SatGroundConfig | None:
        """The configuration of the ``SatGround-v0`` env the model is attached to, if any.

        :raises ValueError: when the env is not a ``SatGround-v0`` (it has no ``SatGroundConfig``) and
            ``policy_kwargs`` does not give the action layout (``n_uavs`` and ``n_satellites``) either
        """
        if self.env is None:
            return None
        config = self.env.get_attr("config")[0] if self.env.has_attr("config") else None
        if isinstance(config, SatGroundConfig):
            return config
        if {"n_uavs", "n_satellites"} <= set(self.policy_kwargs):
            return None
        spec = self.env.get_attr("spec")[0]
        env_name = "this env" if spec is None else spec.id
        raise ValueError(
            f"{type(self).__name__} needs a SatGround-v0 env (its SatGroundConfig gives N and M), got {env_name} with "
            f"action space {self.action_space}; for another env whose action is Box(-1, 1, (N + M·N,)) (N channel "
            "weights, then an M×N share matrix row by row), give policy_kwargs n_uavs and n_satellites"
        )

    def set_decision(self, decision: str, config: SatGroundConfig | None = None) -> None:
        """Choose how the trained policy decides (see :meth:`~sb3_ccddpg.policy_mixins.TwinDecisions.set_decision`);
        kept by ``save``.

        :param decision: one of :data:`~sb3_ccddpg.solvers.search.DECISIONS`
        :param config: the env configuration the refinement scores with; default: the one the policy already
            has, else the attached env's, else the scenario the model was built for (:attr:`env_config`)
        """
        if config is None and decision != "actor":
            config = self.policy.decision_kwargs["decision_config"] or self._env_config() or self.env_config
        self.policy.set_decision(decision, config)
        self.policy_kwargs.update(self.policy.decision_kwargs)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """The library's update, then α0 and α_j recorded as ``<prefix>/alpha0`` and ``<prefix>/alpha_j/<j>``."""
        super().train(gradient_steps, batch_size)  # type: ignore[misc]
        self.logger.record(f"{self.scalar_prefix}/alpha0", self.actor.alpha0)
        for j, alpha in enumerate(self.actor.alpha):
            self.logger.record(f"{self.scalar_prefix}/alpha_j/{j}", alpha)

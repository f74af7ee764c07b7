"""CC-SAC: SB3's SAC whose squashed-Gaussian sample goes through the constraint heads."""

from __future__ import annotations

from typing import Any, ClassVar

from stable_baselines3 import SAC
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.sac.policies import Actor, SACPolicy

from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy, with_default_decision
from sb3_ccddpg.policy_mixins import StochasticHeadsActor, StochasticHeadsPolicy


class CCSACActor(StochasticHeadsActor, Actor):
    """SAC's actor, its sample mapped through the heads (see :mod:`sb3_ccddpg.policy_mixins`)."""


class CCSACPolicy(StochasticHeadsPolicy, SACPolicy):
    """SAC's policy with :class:`CCSACActor` and the decision modes (arguments: :class:`StochasticHeadsPolicy`)."""

    actor_class = CCSACActor


class CCSAC(ConstrainedOffPolicy, SAC):
    """SAC whose actor emits only feasible allocations; entropy is taken on the pre-head sample.

    Every argument is SAC's (``stable_baselines3.SAC``), with the same defaults; ``policy_kwargs`` takes
    :class:`CCSACPolicy`'s. Why this is a valid policy-gradient setup, and what the entropy then means:
    :mod:`sb3_ccddpg.policy_mixins`.

    :param policy: ``"MlpPolicy"`` or ``"CCSACPolicy"`` (or a subclass of :class:`CCSACPolicy`)
    :param env: ``"SatGround-v0"`` or an instance (N and M are read from its ``config``)
    :param policy_kwargs: the policy's keyword arguments
    :param kwargs: SAC's other arguments, by keyword
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": CCSACPolicy, "CCSACPolicy": CCSACPolicy}
    constrained_policy = CCSACPolicy
    scalar_prefix = "ccsac"
    policy: CCSACPolicy

    def __init__(
        self,
        policy: str | type[CCSACPolicy],
        env: GymEnv | str,
        *,
        policy_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(policy, env, policy_kwargs=with_default_decision(policy_kwargs, env), **kwargs)

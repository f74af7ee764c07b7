"""CC-CrossQ: sb3-contrib's CrossQ whose squashed-Gaussian sample goes through the constraint heads."""

from __future__ import annotations

from typing import Any, ClassVar

from sb3_contrib import CrossQ
from sb3_contrib.crossq.policies import Actor, CrossQPolicy
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv

from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy, with_default_decision
from sb3_ccddpg.policy_mixins import StochasticHeadsActor, StochasticHeadsPolicy


class CCCrossQActor(StochasticHeadsActor, Actor):
    """CrossQ's actor (batch renormalisation included), its sample mapped through the heads
    (see :mod:`sb3_ccddpg.policy_mixins`)."""


class CCCrossQPolicy(StochasticHeadsPolicy, CrossQPolicy):
    """CrossQ's policy with :class:`CCCrossQActor` and the decision modes (arguments: :class:`StochasticHeadsPolicy`)."""

    actor_class = CCCrossQActor


class CCCrossQ(ConstrainedOffPolicy, CrossQ):
    """CrossQ whose actor emits only feasible allocations; entropy is taken on the pre-head sample.

    Every argument is CrossQ's (``sb3_contrib.CrossQ``), with the same defaults; ``policy_kwargs`` takes
    :class:`CCCrossQPolicy`'s. Why this is a valid policy-gradient setup, and what the entropy then means:
    :mod:`sb3_ccddpg.policy_mixins`.

    :param policy: ``"MlpPolicy"`` or ``"CCCrossQPolicy"`` (or a subclass of :class:`CCCrossQPolicy`)
    :param env: ``"SatGround-v0"`` or an instance (N and M are read from its ``config``)
    :param policy_kwargs: the policy's keyword arguments
    :param kwargs: CrossQ's other arguments, by keyword
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": CCCrossQPolicy, "CCCrossQPolicy": CCCrossQPolicy}
    constrained_policy = CCCrossQPolicy
    scalar_prefix = "cccrossq"
    policy: CCCrossQPolicy

    def __init__(
        self,
        policy: str | type[CCCrossQPolicy],
        env: GymEnv | str,
        *,
        policy_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(policy, env, policy_kwargs=with_default_decision(policy_kwargs, env), **kwargs)

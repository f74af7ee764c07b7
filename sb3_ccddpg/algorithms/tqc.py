"""CC-TQC: sb3-contrib's TQC whose squashed-Gaussian sample goes through the constraint heads."""

from __future__ import annotations

from typing import Any, ClassVar

from sb3_contrib import TQC
from sb3_contrib.tqc.policies import Actor, TQCPolicy
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv

from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy, with_default_decision
from sb3_ccddpg.policy_mixins import StochasticHeadsActor, StochasticHeadsPolicy


class CCTQCActor(StochasticHeadsActor, Actor):
    """TQC's actor, its sample mapped through the heads (see :mod:`sb3_ccddpg.policy_mixins`)."""


class CCTQCPolicy(StochasticHeadsPolicy, TQCPolicy):
    """TQC's policy with :class:`CCTQCActor` and the decision modes (arguments: :class:`StochasticHeadsPolicy`)."""

    actor_class = CCTQCActor


class CCTQC(ConstrainedOffPolicy, TQC):
    """TQC whose actor emits only feasible allocations; entropy is taken on the pre-head sample.

    Every argument is TQC's (``sb3_contrib.TQC``), with the same defaults; ``policy_kwargs`` takes
    :class:`CCTQCPolicy`'s. Why this is a valid policy-gradient setup, and what the entropy then means:
    :mod:`sb3_ccddpg.policy_mixins`.

    :param policy: ``"MlpPolicy"`` or ``"CCTQCPolicy"`` (or a subclass of :class:`CCTQCPolicy`)
    :param env: ``"SatGround-v0"`` or an instance (N and M are read from its ``config``)
    :param policy_kwargs: the policy's keyword arguments
    :param kwargs: TQC's other arguments, by keyword
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": CCTQCPolicy, "CCTQCPolicy": CCTQCPolicy}
    constrained_policy = CCTQCPolicy
    scalar_prefix = "cctqc"
    policy: CCTQCPolicy

    def __init__(
        self,
        policy: str | type[CCTQCPolicy],
        env: GymEnv | str,
        *,
        policy_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(policy, env, policy_kwargs=with_default_decision(policy_kwargs, env), **kwargs)

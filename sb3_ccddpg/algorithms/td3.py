"""CC-TD3: SB3's TD3 with the CC-DDPG actor, and a critic that scores the allocation of its smoothed targets."""

from __future__ import annotations

from typing import Any, ClassVar

from gymnasium import spaces
from stable_baselines3 import TD3
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import GymEnv, Schedule

from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy, with_default_decision
from sb3_ccddpg.policies import CCDDPGPolicy
from sb3_ccddpg.policy_mixins import FeasibleCritic


class CCTD3Policy(CCDDPGPolicy):
    """:class:`~sb3_ccddpg.policies.CCDDPGPolicy` (the paper's actor and heads), its critics each a
    :class:`~sb3_ccddpg.policy_mixins.FeasibleCritic`.

    TD3 adds clipped noise to the target actor's action (target policy smoothing); the critics score the
    feasible allocation that noisy action decodes to. Keyword arguments as for ``CCDDPGPolicy``, with TD3's
    default of two critics (``n_critics=2``, clipped double Q).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        n_critics: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(observation_space, action_space, lr_schedule, n_critics=n_critics, **kwargs)  # clipped double Q

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> FeasibleCritic:
        """SB3's critic factory: twin Q-networks over the feasible projection of their action input."""
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        n_uavs, n_satellites = self.head_kwargs["n_uavs"], self.head_kwargs["n_satellites"]
        return FeasibleCritic(**critic_kwargs, n_uavs=n_uavs, n_satellites=n_satellites).to(self.device)


class CCTD3(ConstrainedOffPolicy, TD3):
    """TD3 whose actor emits only feasible allocations (the constraint heads of CC-DDPG).

    Every argument is TD3's (``stable_baselines3.TD3``), with the same defaults; explore with an
    ``action_noise`` (SB3's TD3 has none by default), and every explored action is made feasible before it
    is executed and stored. ``policy_kwargs`` takes :class:`CCTD3Policy`'s (``decision``, ``alpha0_init``, ...).

    :param policy: ``"MlpPolicy"`` or ``"CCTD3Policy"`` (or a subclass of :class:`CCTD3Policy`)
    :param env: ``"SatGround-v0"`` or an instance (N and M are read from its ``config``)
    :param policy_kwargs: the policy's keyword arguments
    :param kwargs: TD3's other arguments, by keyword
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": CCTD3Policy, "CCTD3Policy": CCTD3Policy}
    constrained_policy = CCTD3Policy
    scalar_prefix = "cctd3"
    policy: CCTD3Policy

    def __init__(
        self,
        policy: str | type[CCTD3Policy],
        env: GymEnv | str,
        *,
        policy_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(policy, env, policy_kwargs=with_default_decision(policy_kwargs, env), **kwargs)

"""CC-DDPG policy: SB3's TD3/DDPG policy with the paper's constrained actor (§3.3, Fig. 3)."""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, create_mlp
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.td3.policies import Actor, TD3Policy
from torch import nn

from sb3_ccddpg.policy_mixins import TwinDecisions
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg.torch_layers import ALPHA0_INIT, ALPHA_INIT, ChannelHead, ShareHead, check_allocation_space
from sb3_ccddpg_envs import SatGroundConfig


class ConstrainedActor(Actor):
    """The CC-DDPG actor: a shared trunk, then the ξ branch and the ρ/φ branch with their constraint heads.

    Its output ``[ξ fractions (N), ρ row-major (M·N)]`` lies in [0, 1] ⊂ the env's action box and is feasible
    by construction: ξ sums to α0 ≤ 1 (C5 after rounding), each column of ρ has one non-zero entry (C3/C4,
    φ is its row) and row j sums to α_j ≤ 1 (C2). The env's decoder maps it to itself (steps 1, 3, 4 of
    spec §6) and rounds ξ·ξ_total to whole channels.

    Gradients pass through ``|·|``, the normalisations, α0, α_j and each column's kept share; the argmax
    choice of the satellite has none (see :mod:`sb3_ccddpg.torch_layers`).

    :param observation_space: observation space of ``SatGround-v0``
    :param action_space: action space, shape ``(N + M·N,)``
    :param net_arch: widths of the shared trunk
    :param features_extractor: network extracting features from observations
    :param features_dim: number of features
    :param n_uavs: N
    :param n_satellites: M
    :param branch_width: width of the hidden layer of each branch
    :param alpha0_init: initial α0 in (0, 1)
    :param alpha_init: initial α_j in (0, 1)
    :param learnable_scales: whether α0 and α_j are learned
    :param assignment_temperature: ``None`` (the paper: hard argmax everywhere), or the initial temperature
        of a training-time softmax relaxation of the satellite choice (see
        :class:`~sb3_ccddpg.torch_layers.ShareHead`); acting always uses the hard argmax
    :param state_dependent_scales: ``False`` (the paper: constant α0, α_j), or α0 and α_j computed from the trunk's
        features (starting at the constant values; :class:`~sb3_ccddpg.torch_layers.LearnableScale`);
        :attr:`alpha0` and :attr:`alpha` then report the scales at zero state contribution
    :param activation_fn: activation of the trunk
    :param normalize_images: unused for vector observations, kept for SB3's interface
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: nn.Module,
        features_dim: int,
        *,
        n_uavs: int,
        n_satellites: int,
        branch_width: int = 64,
        alpha0_init: float = ALPHA0_INIT,
        alpha_init: float = ALPHA_INIT,
        learnable_scales: bool = True,
        assignment_temperature: float | None = None,
        state_dependent_scales: bool = False,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        if n_satellites < 1:
            raise ValueError(
                f"the paper's actor needs n_satellites ≥ 1, got {n_satellites}; for a plain simplex (n_satellites = 0) use "
                "CCSAC, CCTQC or CCCrossQ (sb3_ccddpg.algorithms)"
            )
        check_allocation_space(action_space, n_uavs, n_satellites)
        super().__init__(
            observation_space,
            action_space,
            net_arch,
            features_extractor,
            features_dim,
            activation_fn=activation_fn,
            normalize_images=normalize_images,
        )
        self.n_uavs = n_uavs
        self.n_satellites = n_satellites
        self.branch_width = branch_width
        self.alpha0_init = alpha0_init
        self.alpha_init = alpha_init
        self.learnable_scales = learnable_scales
        self.assignment_temperature = assignment_temperature
        self.state_dependent_scales = state_dependent_scales
        # Replace TD3's squashed MLP by the shared trunk; the heads bound the output instead of a final tanh.
        self.mu = nn.Sequential(*create_mlp(features_dim, -1, net_arch, activation_fn))
        trunk_width = net_arch[-1] if net_arch else features_dim
        scales = {"learnable_scale": learnable_scales, "state_scale": state_dependent_scales}
        self.channel_head = ChannelHead(trunk_width, branch_width, n_uavs, alpha0_init, **scales)
        self.share_head = ShareHead(
            trunk_width, branch_width, n_uavs, n_satellites, alpha_init, temperature=assignment_temperature, **scales
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            n_uavs=self.n_uavs,
            n_satellites=self.n_satellites,
            branch_width=self.branch_width,
            alpha0_init=self.alpha0_init,
            alpha_init=self.alpha_init,
            learnable_scales=self.learnable_scales,
            assignment_temperature=self.assignment_temperature,
            state_dependent_scales=self.state_dependent_scales,
        )
        return data

    @property
    def alpha0(self) -> float:
        """Current α0, the share of ξ_total in use."""
        return float(self.channel_head.alpha0().item())

    @property
    def alpha(self) -> list[float]:
        """Current α_j, the CPU share each satellite hands out."""
        return [float(a) for a in self.share_head.alpha().detach().cpu()]

    def forward(self, obs: th.Tensor) -> th.Tensor:
        """Feasible actions ``[ξ fractions, ρ row-major]``, shape ``(batch, N + M·N)``, values in [0, 1]."""
        trunk = self.mu(self.extract_features(obs, self.features_extractor))
        shares = self.share_head(trunk)
        return th.cat([self.channel_head(trunk), shares.flatten(start_dim=1)], dim=1)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self(observation)


class CCDDPGPolicy(TwinDecisions, TD3Policy):
    """TD3/DDPG policy whose actor is :class:`ConstrainedActor`; the critic is SB3's ``ContinuousCritic``.

    :param observation_space: observation space
    :param action_space: action space, shape ``(N + M·N,)``, bounds [-1, 1]
    :param lr_schedule: learning-rate schedule
    :param n_uavs: N (``CCDDPG`` reads it from a ``SatGround-v0`` env when not given)
    :param n_satellites: M (likewise)
    :param net_arch: trunk and critic widths, a list for both or ``dict(pi=[...], qf=[...])``;
        default ``[256, 256]``
    :param branch_width: width of the hidden layer of each actor branch
    :param alpha0_init: initial α0 in (0, 1)
    :param alpha_init: initial α_j in (0, 1)
    :param learnable_scales: whether α0 and α_j are learned
    :param assignment_temperature: ``None`` for the paper's hard argmax, or the initial temperature of the
        training-time softmax relaxation of the satellite choice (annealed by ``CCDDPG`` to a tenth of it)
    :param state_dependent_scales: α0 and α_j computed from the state instead of the paper's constants (see
        :class:`ConstrainedActor`)
    :param decision: ``"actor"`` (the paper's policy: act with the actor's output), or a twin-assisted
        refinement applied to every action the policy predicts (see :mod:`sb3_ccddpg.solvers.search`; ``CCDDPG``
        explores with the actor alone unless ``refine_exploration``):
        ``"exact-fill"`` (the actor's assignment with exact channels and shares), ``"twin-search"``,
        ``"twin-search-exact"``, ``"twin-descent"`` (the actor proposes the satellite assignment, the twin
        scores its single-UAV moves with the exact channels and shares, and repeats from the best until no move
        improves), ``"twin-swap-descent"`` (the default, the best measured: the same with every exchange of two
        UAVs' satellites in the neighbourhood), ``"exact"`` (the exact optimum of the twin's state),
        ``"twin-robust"`` (for a twin that can be wrong) or ``"auto"`` (``"exact"`` where measured no slower than
        the default descent, else the descent; resolved when set, see :attr:`calibration`)
    :param decision_config: the env configuration the refinement scores with (``CCDDPG`` reads it from a
        ``SatGround-v0`` env when not given); unused with ``"actor"``
    :param activation_fn: activation of the trunk and critic
    :param features_extractor_class: features extractor
    :param features_extractor_kwargs: its keyword arguments
    :param normalize_images: kept for SB3's interface
    :param optimizer_class: optimiser of actor and critic
    :param optimizer_kwargs: its keyword arguments, besides the learning rate
    :param n_critics: number of critics (1 for DDPG)
    :param share_features_extractor: share the features extractor between actor and critic
    """

    actor: ConstrainedActor
    actor_target: ConstrainedActor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        n_uavs: int | None = None,
        n_satellites: int | None = None,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        branch_width: int = 64,
        alpha0_init: float = ALPHA0_INIT,
        alpha_init: float = ALPHA_INIT,
        learnable_scales: bool = True,
        assignment_temperature: float | None = None,
        state_dependent_scales: bool = False,
        decision: str = DEFAULT_DECISION,
        decision_config: SatGroundConfig | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 1,
        share_features_extractor: bool = False,
    ) -> None:
        if n_uavs is None or n_satellites is None:
            raise ValueError("CCDDPGPolicy needs n_uavs and n_satellites (CCDDPG reads them from a SatGround-v0 env)")
        self.head_kwargs: dict[str, Any] = {
            "n_uavs": n_uavs,
            "n_satellites": n_satellites,
            "branch_width": branch_width,
            "alpha0_init": alpha0_init,
            "alpha_init": alpha_init,
            "learnable_scales": learnable_scales,
            "assignment_temperature": assignment_temperature,
            "state_dependent_scales": state_dependent_scales,
        }
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[256, 256] if net_arch is None else net_arch,
            activation_fn=activation_fn,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=features_extractor_kwargs,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            n_critics=n_critics,
            share_features_extractor=share_features_extractor,
        )
        self.set_decision(decision, decision_config)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> ConstrainedActor:
        """SB3's actor factory: the constrained actor (trunk and the paper's ξ and ρ/φ heads) for this policy."""
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return ConstrainedActor(**actor_kwargs, **self.head_kwargs).to(self.device)

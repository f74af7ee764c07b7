"""A CC-DDPG policy whose weights do not depend on N: a permutation-equivariant actor and critic over UAVs.

The paper's actor maps the N data sizes through an MLP to N + M·N outputs, so its weights fix N and M, and the
satellite labels it learns are arbitrary (satellites are identical, spec §5a). :class:`SetActor` instead reads
one *token* per UAV (its data size, where it ranks, the set's mean and spread, μ when observed; with
``rank_cycles`` its size rank modulo 2M, :func:`rank_cycle`; with ``size_token`` the number of UAVs per
satellite, N / M, scaled by ``1 / max_satellites``), mixes the tokens by set layers (each UAV sees
the set's mean and maximum), and decides per UAV with shared weights:

- channels: a positive weight per UAV, normalised over the UAVs, times a state-dependent α0 (from the pooled
  tokens): the fractions sum to α0 < 1 (C5);
- satellite: the column argmax of scores ``⟨key(h_i), slot_j⟩`` against M learned *slot* embeddings (the first M
  of ``max_satellites``), so every UAV has one satellite (C3, C4);
- CPU share: a positive weight per UAV, normalised within its satellite, times a state-dependent row scale
  computed from the mean token of that satellite's UAVs (the paper's constant α_j cannot follow the optimum's
  row sums, which vary with the state): rows sum to less than 1 (C2).

Every output is feasible by construction, like the paper's heads, and the same weights serve any N and any
M ≤ ``max_satellites`` (:meth:`~sb3_ccddpg.ccddpg.CCDDPG.resized`, which ``CCDDPG.load`` applies). The slots
break the satellites' symmetry only as a naming: which slot a group gets is arbitrary, which is why the imitation
loss (:mod:`sb3_ccddpg.expert_iteration`) matches labels before it compares. :class:`SetCritic` scores an
allocation by the same kind of tokens (each UAV's data, channel fraction and share, and its satellite group's
size, load and total share): it is invariant to the order of the UAVs and to satellite labels, and its weights
do not depend on N either.
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.td3.policies import Actor, TD3Policy
from torch import nn

from sb3_ccddpg.policy_mixins import TwinDecisions
from sb3_ccddpg.solvers.baselines import snake_deal
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg.torch_layers import ALPHA0_INIT, ALPHA_INIT, LearnableScale, check_allocation_space, feasible_projection
from sb3_ccddpg_envs import SatGroundConfig
from sb3_ccddpg_envs.feasibility import column_argmax, rescale_sum

__all__ = ["MAX_SATELLITES", "SetActor", "SetCritic", "SetPolicy", "rank_cycle", "size_ranks", "uav_tokens"]

#: Satellite slots a set policy has by default (the largest M of the scale sweeps).
MAX_SATELLITES = 8
#: Initial weight of the snake deal in the satellite scores (``size_deal``): larger than the initial spread of
#: the learned scores, so that the untrained actor deals.
DEAL_WEIGHT_INIT = 1.0
#: Smallest α0 and per-UAV weight the actor emits (a saturated sigmoid would otherwise reach 0 in float32).
MIN_ALPHA0 = 1e-3
MIN_WEIGHT = 1e-6


def uav_tokens(obs: th.Tensor, n_uavs: int, ranks: th.Tensor | None = None) -> th.Tensor:
    """One feature vector per UAV from an observation: permutation-equivariant, defined for any N.

    :param obs: observations ``[D_i / D_max (N), μ (optional)]``, shape ``(batch, N)`` or ``(batch, N + 1)``
    :param n_uavs: N
    :param ranks: :func:`size_ranks` of the data, when already computed
    :return: tokens ``[d_i, d_i − mean, mean, std, rank in [0, 1], (μ)]``, shape ``(batch, N, 5)`` or ``(batch, N, 6)``
    """
    data = obs[:, :n_uavs]
    mean = data.mean(dim=1, keepdim=True).expand_as(data)
    spread = data.std(dim=1, keepdim=True, unbiased=False).expand_as(data)
    rank = (size_ranks(data) if ranks is None else ranks).to(data.dtype) / max(n_uavs - 1, 1)
    features = [data, data - mean, mean, spread, rank]
    if obs.shape[1] > n_uavs:  # μ observed
        features.append(obs[:, n_uavs:].expand_as(data))
    return th.stack(features, dim=-1)


def size_ranks(data: th.Tensor) -> th.Tensor:
    """Each UAV's rank by data size in its state, 0 for the smallest.

    :param data: data sizes, shape ``(batch, N)``
    :return: integer ranks in ``[0, N)``, shape ``(batch, N)``
    """
    return data.argsort(dim=1).argsort(dim=1)


def rank_cycle(ranks: th.Tensor, n_satellites: int, max_satellites: int) -> th.Tensor:
    """Each UAV's rank by data size modulo 2M, one-hot over ``2 · max_satellites`` entries.

    With it a dealing of the UAVs in size order (round robin, or the snake order that balances sums) is a
    function of one token; from the rank in [0, 1] alone such a function oscillates N / M times over the range.

    :param ranks: :func:`size_ranks`, shape ``(batch, N)``
    :return: shape ``(batch, N, 2 · max_satellites)``, float32
    """
    return th.nn.functional.one_hot(ranks % (2 * n_satellites), 2 * max_satellites).float()


def _token_width(observation_space: spaces.Space, n_uavs: int) -> int:
    """Width of :func:`uav_tokens` for this observation space (5, or 6 with μ)."""
    shape = observation_space.shape
    if shape is None or len(shape) != 1 or shape[0] not in (n_uavs, n_uavs + 1):
        raise ValueError(
            f"a set policy needs observations of shape ({n_uavs},) or ({n_uavs + 1},) (D_i / D_max, μ); got {shape}"
        )
    return 5 + (shape[0] - n_uavs)


class _MixedTokens(nn.Module):
    """Per-token encoder, then two set layers: equivariant in N.

    A set layer (DeepSets, Zaheer et al. 2017) adds to each token's linear map a linear map of the set's mean and
    maximum, computed once per state: every UAV's features depend on the whole set at the cost of one per-token
    matrix product (the per-token networks cost N times a flat MLP of the same width per state).

    :param in_features: token width
    :param width: hidden width
    """

    def __init__(self, in_features: int, width: int) -> None:
        super().__init__()
        self.encode = nn.Sequential(nn.Linear(in_features, width), nn.ReLU())
        self.own = nn.ModuleList(nn.Linear(width, width) for _ in range(2))
        self.pooled = nn.ModuleList(nn.Linear(2 * width, width, bias=False) for _ in range(2))

    def forward(self, tokens: th.Tensor) -> th.Tensor:
        """Mixed tokens, shape ``(batch, N, width)``."""
        mixed = self.encode(tokens)
        for own, pooled in zip(self.own, self.pooled, strict=True):
            summary = th.cat([mixed.mean(dim=1, keepdim=True), mixed.max(dim=1, keepdim=True).values], dim=-1)
            mixed = th.relu(own(mixed) + pooled(summary))
        return mixed


class SetActor(Actor):
    """The equivariant CC-DDPG actor (see the module docstring); SB3's TD3 actor interface.

    :param observation_space: observation space of ``SatGround-v0``
    :param action_space: action space, shape ``(N + M·N,)``
    :param net_arch: ``[width]`` of the tokens (the first entry is used)
    :param features_extractor: kept for SB3's interface (the tokens are read from the raw observation)
    :param features_dim: kept for SB3's interface
    :param n_uavs: N
    :param n_satellites: M, at most ``max_satellites``
    :param max_satellites: satellite slots (the largest M the weights serve)
    :param alpha0_init: initial α0 in (0, 1) (the state's contribution starts at zero)
    :param alpha_init: initial row scale in (0, 1)
    :param learnable_scales: whether the scales are learned
    :param rank_cycles: add :func:`rank_cycle` to each UAV's token
    :param size_token: add N / (M · ``max_satellites``) to each UAV's token: without it the tokens and their
        pooled means are the same at every N, so a model trained across sizes cannot tell them apart (one
        mixed-size run with it measured worse than without, docs/scale/set)
    :param size_deal: add a learned weight (initially :data:`DEAL_WEIGHT_INIT`) times the one-hot snake deal by
        data size (:func:`~sb3_ccddpg.solvers.snake_deal`) to the satellite scores: the untrained
        actor deals balanced groups at every N, and learning moves UAVs from there
    :param activation_fn: kept for SB3's interface
    :param normalize_images: kept for SB3's interface
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
        max_satellites: int = MAX_SATELLITES,
        alpha0_init: float = ALPHA0_INIT,
        alpha_init: float = ALPHA_INIT,
        learnable_scales: bool = True,
        rank_cycles: bool = False,
        size_token: bool = False,
        size_deal: bool = False,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        check_satellite_slots(n_uavs, n_satellites, max_satellites)
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
        self.n_uavs, self.n_satellites, self.max_satellites = n_uavs, n_satellites, max_satellites
        self.alpha0_init, self.alpha_init, self.learnable_scales = alpha0_init, alpha_init, learnable_scales
        self.rank_cycles, self.size_token, self.size_deal = rank_cycles, size_token, size_deal
        width = net_arch[0] if net_arch else 64
        token_width = (
            _token_width(observation_space, n_uavs) + (2 * max_satellites if rank_cycles else 0) + (1 if size_token else 0)
        )
        self.mu = _MixedTokens(token_width, width)  # type: ignore[assignment]
        self.channel_weight = nn.Linear(width, 1)
        self.share_weight = nn.Linear(width, 1)
        self.slot_key = nn.Linear(width, width)
        self.slots = nn.Parameter(th.randn(max_satellites, width) / width**0.5)
        self.channel_scale = LearnableScale(
            1, alpha0_init, learnable_scales, "alpha0_init", width if learnable_scales else None
        )
        self.row_scale = LearnableScale(1, alpha_init, learnable_scales, "alpha_init", width if learnable_scales else None)
        self.deal_weight = nn.Parameter(th.tensor(DEAL_WEIGHT_INIT)) if size_deal else None

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            n_uavs=self.n_uavs,
            n_satellites=self.n_satellites,
            max_satellites=self.max_satellites,
            alpha0_init=self.alpha0_init,
            alpha_init=self.alpha_init,
            learnable_scales=self.learnable_scales,
            rank_cycles=self.rank_cycles,
            size_token=self.size_token,
            size_deal=self.size_deal,
        )
        return data

    @property
    def alpha0(self) -> float:
        """α0 at zero state contribution (the state moves it; :meth:`parts` gives each state's)."""
        return float(self.channel_scale().item())

    @property
    def alpha(self) -> list[float]:
        """Row scales at zero state contribution, one per satellite (the same for every slot)."""
        return [float(self.row_scale().item())] * self.n_satellites

    def token_features(self, obs: th.Tensor, ranks: th.Tensor | None = None) -> th.Tensor:
        """Each UAV's token before the set layers: :func:`uav_tokens`, then the rank cycles and the size entry
        when enabled.

        :param obs: observations, shape ``(batch, N)`` or ``(batch, N + 1)``
        :param ranks: :func:`size_ranks` of the data, when already computed
        :return: shape ``(batch, N, token width)``
        """
        obs = obs.float()
        ranks = size_ranks(obs[:, : self.n_uavs]) if ranks is None else ranks
        features = uav_tokens(obs, self.n_uavs, ranks)
        if self.rank_cycles:
            features = th.cat([features, rank_cycle(ranks, self.n_satellites, self.max_satellites)], dim=-1)
        if self.size_token:
            per_satellite = self.n_uavs / (self.n_satellites * self.max_satellites)
            features = th.cat([features, features.new_full((*features.shape[:2], 1), per_satellite)], dim=-1)
        return features

    def parts(self, obs: th.Tensor) -> dict[str, th.Tensor]:
        """Everything the actor decides, before it is laid out as an action.

        :param obs: observations, shape ``(batch, N)`` or ``(batch, N + 1)``
        :return: ``channels`` (fractions of ξ_total, ``(batch, N)``), ``logits`` (satellite scores, ``(batch, M, N)``),
            ``shares`` (each UAV's CPU share of its satellite, ``(batch, N)``), ``cpu_share`` (ρ, ``(batch, M, N)``),
            ``alpha0`` (``(batch, 1)``) and ``row_scales`` (``(batch, M)``)
        """
        obs = obs.float()
        ranks = size_ranks(obs[:, : self.n_uavs])
        tokens = self.mu(self.token_features(obs, ranks))  # (B, N, W)
        pooled = tokens.mean(dim=1)
        # Floors keep a saturated network feasible: α0 = 0 or all-zero weights would hand out no channel at all.
        alpha0 = self.channel_scale(pooled).clamp(min=MIN_ALPHA0)
        weights = th.sigmoid(self.channel_weight(tokens)).squeeze(-1) + MIN_WEIGHT
        channels = alpha0 * rescale_sum(weights, above=0.0)
        logits = (self.slot_key(tokens) @ self.slots[: self.n_satellites].T).transpose(1, 2)  # (B, M, N)
        if self.deal_weight is not None:
            dealt = th.nn.functional.one_hot(snake_deal(ranks, self.n_satellites), self.n_satellites).transpose(1, 2)
            logits = logits + self.deal_weight * dealt.to(logits.dtype)
        # (B, M, N): one-hot satellite of each UAV
        members = th.nn.functional.one_hot(column_argmax(logits), self.n_satellites).transpose(1, 2).to(tokens.dtype)
        group = members @ tokens / members.sum(dim=-1, keepdim=True).clamp(min=1.0)  # (B, M, W)
        row_scales = self.row_scale(group).squeeze(-1)  # (B, M)
        weights = members * (th.sigmoid(self.share_weight(tokens)).squeeze(-1)[:, None, :] + MIN_WEIGHT)
        cpu_share = row_scales[..., None] * rescale_sum(weights, above=0.0)
        return {
            "channels": channels,
            "logits": logits,
            "shares": cpu_share.sum(dim=1),
            "cpu_share": cpu_share,
            "alpha0": alpha0,
            "row_scales": row_scales,
        }

    def forward(self, obs: th.Tensor) -> th.Tensor:
        """Feasible actions ``[ξ fractions, ρ row-major]``, shape ``(batch, N + M·N)``, values in [0, 1]."""
        parts = self.parts(obs)
        return th.cat([parts["channels"], parts["cpu_share"].flatten(start_dim=1)], dim=1)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self(observation)


class SetCritic(BaseModel):
    """Q(s, a) from per-UAV tokens of the state and the allocation, pooled: invariant to UAV order and satellite
    labels, weights independent of N and M; SB3's ``ContinuousCritic`` interface (``forward``, ``q1_forward``).

    A UAV's allocation token is its channel fraction (×N), its share, and its satellite group's size (×M/N), data
    load (×M) and total share, for the feasible projection of the action (noisy target actions included).

    :param observation_space: observation space
    :param action_space: action space, shape ``(N + M·N,)``
    :param net_arch: ``[width]`` of the tokens (the first entry is used)
    :param features_extractor: kept for SB3's interface
    :param features_dim: kept for SB3's interface
    :param activation_fn: kept for SB3's interface
    :param normalize_images: kept for SB3's interface
    :param n_critics: number of Q-networks (1 for DDPG, 2 for TD3)
    :param share_features_extractor: kept for SB3's interface
    :param n_uavs: N
    :param n_satellites: M
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        n_critics: int = 1,
        share_features_extractor: bool = False,
        *,
        n_uavs: int,
        n_satellites: int,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.n_uavs, self.n_satellites = n_uavs, n_satellites
        self.share_features_extractor = share_features_extractor
        self.n_critics = n_critics
        width = net_arch[0] if net_arch else 64
        token_width = _token_width(observation_space, n_uavs) + 5
        self.q_networks: list[nn.Module] = []
        for k in range(n_critics):
            q_net = nn.ModuleDict(
                {
                    "tokens": _MixedTokens(token_width, width),
                    "value": nn.Sequential(nn.Linear(2 * width, width), nn.ReLU(), nn.Linear(width, 1)),
                }
            )
            self.add_module(f"qf{k}", q_net)
            self.q_networks.append(q_net)

    def _tokens(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        n, m = self.n_uavs, self.n_satellites
        feasible = feasible_projection(actions, n, m)
        channels, cpu_share = feasible[:, :n], feasible[:, n:].reshape(-1, m, n)
        members = (column_argmax(cpu_share)[:, None, :] == th.arange(m, device=obs.device)[:, None]).to(feasible.dtype)
        data = obs[:, :n].float()
        shares = cpu_share.sum(dim=1)

        def of_group(values: th.Tensor) -> th.Tensor:  # each UAV gets its group's sum of ``values``
            return (members * (members @ values[..., None]).squeeze(-1)[..., None]).sum(dim=1)

        allocation = th.stack(
            [
                n * channels,
                shares,
                of_group(th.ones_like(data)) * m / n,
                of_group(data) * m / data.sum(dim=1, keepdim=True).clamp(min=1e-9),
                of_group(shares),
            ],
            dim=-1,
        )
        return th.cat([uav_tokens(obs.float(), n), allocation], dim=-1)

    def _q(self, q_net: nn.Module, tokens: th.Tensor) -> th.Tensor:
        mixed = q_net["tokens"](tokens)  # type: ignore[index]
        return q_net["value"](th.cat([mixed.mean(dim=1), mixed.max(dim=1).values], dim=1))  # type: ignore[index]

    def forward(self, obs: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, ...]:
        """The Q-values of each network, each of shape ``(batch, 1)``."""
        tokens = self._tokens(obs, actions)
        return tuple(self._q(q_net, tokens) for q_net in self.q_networks)

    def q1_forward(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """The first network's Q-values (the actor's loss)."""
        return self._q(self.q_networks[0], self._tokens(obs, actions))


def check_satellite_slots(n_uavs: int, n_satellites: int, max_satellites: int) -> None:
    """Refuse sizes a set policy cannot serve.

    :raises ValueError: unless 1 ≤ M ≤ ``max_satellites`` and N ≥ 1
    """
    if n_uavs < 1 or not 1 <= n_satellites <= max_satellites:
        raise ValueError(
            f"a set policy with {max_satellites} satellite slots serves N ≥ 1 and 1 ≤ M ≤ {max_satellites}; "
            f"got N = {n_uavs}, M = {n_satellites}"
        )


class SetPolicy(TwinDecisions, TD3Policy):
    """The CC-DDPG policy with :class:`SetActor` and :class:`SetCritic`: one set of weights for any N and M ≤
    ``max_satellites``, with the decision modes of :class:`~sb3_ccddpg.policies.CCDDPGPolicy`.

    :param observation_space: observation space
    :param action_space: action space, shape ``(N + M·N,)``, bounds [-1, 1]
    :param lr_schedule: learning-rate schedule
    :param n_uavs: N (``CCDDPG`` reads it from a ``SatGround-v0`` env when not given)
    :param n_satellites: M (likewise)
    :param net_arch: ``[width]`` of the actor's and the critic's tokens (default ``[64]``)
    :param max_satellites: satellite slots, the largest M the weights serve
    :param alpha0_init: initial α0 in (0, 1)
    :param alpha_init: initial row scale in (0, 1)
    :param learnable_scales: whether the scales are learned (and depend on the state)
    :param rank_cycles: add each UAV's size rank modulo 2M to the actor's tokens (:func:`rank_cycle`)
    :param size_token: add N / (M · ``max_satellites``) to the actor's tokens (for a model trained across sizes)
    :param size_deal: start the actor's satellite scores from the snake deal by data size (see :class:`SetActor`)
    :param decision: one of :data:`~sb3_ccddpg.solvers.search.DECISIONS` (see ``CCDDPGPolicy``)
    :param decision_config: the env configuration the refinement scores with; unused with ``"actor"``
    :param activation_fn: kept for SB3's interface
    :param features_extractor_class: kept for SB3's interface (the tokens are read from the raw observation)
    :param features_extractor_kwargs: its keyword arguments
    :param normalize_images: kept for SB3's interface
    :param optimizer_class: optimiser of actor and critic
    :param optimizer_kwargs: its keyword arguments, besides the learning rate
    :param n_critics: number of critics (1 for DDPG, 2 for TD3)
    :param share_features_extractor: kept for SB3's interface
    """

    actor: SetActor
    actor_target: SetActor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        n_uavs: int | None = None,
        n_satellites: int | None = None,
        net_arch: list[int] | None = None,
        max_satellites: int = MAX_SATELLITES,
        alpha0_init: float = ALPHA0_INIT,
        alpha_init: float = ALPHA_INIT,
        learnable_scales: bool = True,
        rank_cycles: bool = False,
        size_token: bool = False,
        size_deal: bool = False,
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
            raise ValueError("SetPolicy needs n_uavs and n_satellites (CCDDPG reads them from a SatGround-v0 env)")
        check_satellite_slots(n_uavs, n_satellites, max_satellites)
        self.head_kwargs: dict[str, Any] = {
            "n_uavs": n_uavs,
            "n_satellites": n_satellites,
            "max_satellites": max_satellites,
            "alpha0_init": alpha0_init,
            "alpha_init": alpha_init,
            "learnable_scales": learnable_scales,
            "rank_cycles": rank_cycles,
            "size_token": size_token,
            "size_deal": size_deal,
        }
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[64] if net_arch is None else net_arch,
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

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> SetActor:
        """SB3's actor factory: the equivariant actor."""
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return SetActor(**actor_kwargs, **self.head_kwargs).to(self.device)

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> SetCritic:  # type: ignore[override]
        """SB3's critic factory: the equivariant critic."""
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        sizes = {name: self.head_kwargs[name] for name in ("n_uavs", "n_satellites")}
        return SetCritic(**critic_kwargs, **sizes).to(self.device)

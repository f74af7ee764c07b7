"""The CC-DDPG constraint heads (paper §3.3, eqs 21–29) as PyTorch modules.

The feasibility operations are the ones the environment's decoder uses (:mod:`sb3_ccddpg_envs.feasibility`,
written once against the array API), so a head's output is a fixed point of the decoder's continuous steps.

Gradient flow: ``|·|``, the normalisations, the learnable scales and each column's kept (maximal) share pass
gradients; the choice of the argmax itself (which satellite a UAV offloads to) does not, and the dropped
entries of each column receive zero gradient.
"""

from __future__ import annotations

import math

import numpy as np
import torch as th
from gymnasium import spaces
from torch import nn

from sb3_ccddpg_envs.feasibility import keep_column_max, rescale_sum

__all__ = [
    "ALPHA0_INIT",
    "ALPHA_INIT",
    "AllocationHeads",
    "ChannelHead",
    "LearnableScale",
    "ShareHead",
    "check_allocation_space",
    "feasible_projection",
]

#: Default initial scales, from the prototype: α0 = sigmoid(4) ≈ 0.982 (a low α0 cannot climb over the
#: rounding of the channel count), α_j = sigmoid(2) ≈ 0.881.
ALPHA0_INIT = 0.9820137900379085
ALPHA_INIT = 0.8807970779778823


def _logit(probability: float, name: str) -> float:
    if not 0.0 < probability < 1.0:
        raise ValueError(f"{name} must be in (0, 1) (it is a sigmoid of a free parameter), got {probability!r}")
    return math.log(probability / (1.0 - probability))


class LearnableScale(nn.Module):
    """Scales in (0, 1): ``sigmoid(θ)`` of free parameters θ, so training can never leave the range.

    With ``in_features`` the scales depend on the state: ``sigmoid(θ + W·features)``, W starting at zero (so the
    scales start as the constant ones and learn how far to move with the state). The paper's α's are constant,
    which caps how close the actor can get: the optimum's CPU row sums vary with the state.

    :param size: number of scales
    :param initial: initial value of every scale, in (0, 1)
    :param learnable: whether θ (and W) receive gradients (otherwise the scales stay at ``initial``)
    :param name: name used in error messages
    :param in_features: width of the features the scales depend on; ``None``: constant scales (the paper)
    """

    def __init__(self, size: int, initial: float, learnable: bool, name: str, in_features: int | None = None) -> None:
        super().__init__()
        self.logit = nn.Parameter(th.full((size,), _logit(initial, name)), requires_grad=learnable)
        self.state: nn.Linear | None = None
        if in_features is not None:
            if not learnable:
                raise ValueError("state-dependent scales must be learnable (learnable_scales=True)")
            self.state = nn.Linear(in_features, size)
            nn.init.zeros_(self.state.weight)
            nn.init.zeros_(self.state.bias)

    def forward(self, features: th.Tensor | None = None) -> th.Tensor:
        """The scales: shape ``(size,)``, or ``(batch, size)`` for state-dependent ones given ``features``."""
        if self.state is None or features is None:
            return th.sigmoid(self.logit)
        return th.sigmoid(self.logit + self.state(features))


class ChannelHead(nn.Module):
    """ξ branch (eqs 21–23): ``2 × (FC + tanh) → |·| → normalise → × α0``.

    :param in_features: width of the shared features
    :param hidden: width of the branch's hidden layer
    :param n_uavs: N
    :param alpha0_init: initial α0 in (0, 1); start near 1, because the channel count is rounded and the
        reward is flat between whole channels
    :param learnable_scale: whether α0 is learned
    :param state_scale: whether α0 depends on the state (see :class:`LearnableScale`)
    """

    def __init__(
        self, in_features: int, hidden: int, n_uavs: int, alpha0_init: float, learnable_scale: bool, state_scale: bool = False
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.Tanh(), nn.Linear(hidden, n_uavs), nn.Tanh())
        self.alpha0 = LearnableScale(1, alpha0_init, learnable_scale, "alpha0_init", in_features if state_scale else None)

    def forward(self, features: th.Tensor) -> th.Tensor:
        """Channel fractions of ξ_total, summing to α0, shape ``(batch, N)``."""
        return self.alpha0(features) * rescale_sum(th.abs(self.net(features)), above=0.0)


class ShareHead(nn.Module):
    """ρ/φ branch (eqs 24–29): ``2 × (FC + tanh) → M×N → |·| → column argmax → row normalise → × α_j``.

    :param in_features: width of the shared features
    :param hidden: width of the branch's hidden layer
    :param n_uavs: N
    :param n_satellites: M
    :param alpha_init: initial α_j in (0, 1), the same for every satellite
    :param learnable_scale: whether the α_j are learned
    :param temperature: ``None`` (the paper), or the temperature of a softmax relaxation of the column argmax
        used in training mode only: each column keeps ``|z|·softmax(|z|/T)`` over the satellites instead of
        its maximum alone, so every satellite's entry receives gradient; the hard argmax is the limit T → 0
        and is what acting (evaluation mode) always uses. ``CCDDPG`` anneals it during training.
    :param state_scale: whether the α_j depend on the state (see :class:`LearnableScale`)
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        n_uavs: int,
        n_satellites: int,
        alpha_init: float,
        learnable_scale: bool,
        temperature: float | None = None,
        state_scale: bool = False,
    ) -> None:
        super().__init__()
        if temperature is not None and not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"assignment_temperature must be a finite number in (0, inf) or None, got {temperature!r}")
        self.temperature = temperature
        self.shape = (n_satellites, n_uavs)
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.Tanh(), nn.Linear(hidden, n_satellites * n_uavs), nn.Tanh()
        )
        self.alpha = LearnableScale(
            n_satellites, alpha_init, learnable_scale, "alpha_init", in_features if state_scale else None
        )

    def forward(self, features: th.Tensor) -> th.Tensor:
        """CPU shares ρ, each column non-zero only on its satellite, rows summing to α_j, shape ``(batch, M, N)``."""
        magnitude = th.abs(self.net(features)).reshape(-1, *self.shape)
        if self.training and self.temperature is not None:
            kept = magnitude * th.softmax(magnitude / self.temperature, dim=-2)
        else:
            kept = keep_column_max(magnitude)
        return self.alpha(features)[..., None] * rescale_sum(kept, above=0.0)


def check_allocation_space(action_space: object, n_uavs: int, n_satellites: int) -> None:
    """Refuse an action space the heads cannot serve, naming the layout they need.

    :param action_space: the env's action space
    :param n_uavs: N, the units of the budget (UAVs)
    :param n_satellites: M, the groups (satellites); 0 for a plain simplex over N
    :raises ValueError: unless it is a ``Box(-1, 1, (N + M·N,))`` (N budget weights, then the M×N shares row by row)
    """
    expected = n_uavs + n_satellites * n_uavs
    layout = f"Box(-1, 1, ({expected},)): {n_uavs} budget weights" + (
        f", then the {n_satellites}×{n_uavs} share matrix row by row" if n_satellites else ""
    )
    if not isinstance(action_space, spaces.Box):
        raise ValueError(f"the constraint heads need a {layout}; got {action_space!r}, which is not a Box")
    if action_space.shape != (expected,) or not (np.all(action_space.low == -1.0) and np.all(action_space.high == 1.0)):
        raise ValueError(f"the constraint heads need a {layout}; got {action_space!r}")


class AllocationHeads(nn.Module):
    """The constraint heads as a deterministic, differentiable map of any pre-head action, for any actor.

    A pre-head action ``u ∈ R^(N + M·N)`` (a deterministic actor's output, or a stochastic actor's squashed
    Gaussian sample) becomes ``[α0·|u_ξ|/Σ|u_ξ|, α_j·ρ_j]`` with ρ the share matrix ``|u_ρ|`` keeping each
    column's largest entry, rows normalised (the paper's eqs 22–29 without the branches' layers): every output
    is feasible, and the decoder of ``SatGround-v0`` maps it to itself. With ``n_satellites = 0`` it is a
    plain simplex head: ``α0·|u|/Σ|u|`` (``budget_scale=False``: exactly ``|u|/Σ|u|``, summing to 1).

    :param n_uavs: N, units of the budget (UAVs, assets, ...)
    :param n_satellites: M, groups the units are assigned to (0: no assignment, a simplex)
    :param alpha0_init: initial α0 in (0, 1), the share of the budget handed out
    :param alpha_init: initial α_j in (0, 1), the share of each group's capacity handed out
    :param learnable_scales: whether α0 and α_j are learned
    :param budget_scale: whether the budget part is scaled by α0 (``False``: it sums to exactly 1)
    """

    def __init__(
        self,
        n_uavs: int,
        n_satellites: int,
        alpha0_init: float = ALPHA0_INIT,
        alpha_init: float = ALPHA_INIT,
        learnable_scales: bool = True,
        budget_scale: bool = True,
    ) -> None:
        super().__init__()
        self.n_uavs, self.n_satellites = n_uavs, n_satellites
        self.budget_scale = budget_scale
        self.alpha0 = LearnableScale(1, alpha0_init, learnable_scales and budget_scale, "alpha0_init")
        self.alpha = LearnableScale(max(n_satellites, 1), alpha_init, learnable_scales and n_satellites > 0, "alpha_init")

    def forward(self, pre_head: th.Tensor) -> th.Tensor:
        """Feasible actions, shape ``(batch, N + M·N)``, values in [0, 1].

        :param pre_head: pre-head actions, shape ``(batch, N + M·N)``
        """
        magnitude = th.abs(pre_head)
        budget = rescale_sum(magnitude[:, : self.n_uavs], above=0.0)
        if self.budget_scale:
            budget = self.alpha0() * budget
        if not self.n_satellites:
            return budget
        shares = keep_column_max(magnitude[:, self.n_uavs :].reshape(-1, self.n_satellites, self.n_uavs))
        shares = self.alpha()[:, None] * rescale_sum(shares, above=0.0)
        return th.cat([budget, shares.flatten(start_dim=1)], dim=1)


def feasible_projection(actions: th.Tensor, n_uavs: int, n_satellites: int) -> th.Tensor:
    """The decoder's continuous steps in torch (spec §6 steps 1, 3, 4; :func:`~sb3_ccddpg_envs.canonical_action`).

    The identity on feasible actions (every head output), so a critic that applies it first scores any action,
    noisy or not, as the allocation it decodes to; differentiable like :class:`AllocationHeads`.

    :param actions: shape ``(batch, N + M·N)``
    :param n_uavs: N
    :param n_satellites: M
    :return: feasible actions, same shape
    """
    magnitude = th.abs(actions)
    budget = magnitude[:, :n_uavs]
    budget = th.where(budget.sum(dim=-1, keepdim=True) > 0, budget, th.full_like(budget, 1.0 / n_uavs))
    budget = rescale_sum(budget, above=1.0)
    if not n_satellites:
        return budget
    shares = rescale_sum(keep_column_max(magnitude[:, n_uavs:].reshape(-1, n_satellites, n_uavs)), above=1.0)
    return th.cat([budget, shares.flatten(start_dim=1)], dim=1)

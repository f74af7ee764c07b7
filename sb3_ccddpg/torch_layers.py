"""The CC-DDPG constraint heads (paper §3.3, eqs 21–29) as PyTorch modules.

The feasibility operations are the ones the environment's decoder uses (:mod:`sb3_ccddpg_envs.feasibility`,
written once against the array API), so a head's output is a fixed point of the decoder's continuous steps.

Gradient flow: ``|·|``, the normalisations, the learnable scales and each column's kept (maximal) share pass
gradients; the choice of the argmax itself (which satellite a UAV offloads to) does not, and the dropped
entries of each column receive zero gradient.
"""

from __future__ import annotations

import math

import torch as th
from torch import nn

from sb3_ccddpg_envs.feasibility import keep_column_max, rescale_sum


def _logit(probability: float, name: str) -> float:
    if not 0.0 < probability < 1.0:
        raise ValueError(f"{name} must be in (0, 1) (it is a sigmoid of a free parameter), got {probability!r}")
    return math.log(probability / (1.0 - probability))


class LearnableScale(nn.Module):
    """Scales in (0, 1): ``sigmoid(θ)`` of free parameters θ, so training can never leave the range.

    :param size: number of scales
    :param initial: initial value of every scale, in (0, 1)
    :param learnable: whether θ receives gradients (otherwise it stays at ``initial``)
    :param name: name used in error messages
    """

    def __init__(self, size: int, initial: float, learnable: bool, name: str) -> None:
        super().__init__()
        self.logit = nn.Parameter(th.full((size,), _logit(initial, name)), requires_grad=learnable)

    def forward(self) -> th.Tensor:
        """The scales, shape ``(size,)``."""
        return th.sigmoid(self.logit)


class ChannelHead(nn.Module):
    """ξ branch (eqs 21–23): ``2 × (FC + tanh) → |·| → normalise → × α0``.

    :param in_features: width of the shared features
    :param hidden: width of the branch's hidden layer
    :param n_uavs: N
    :param alpha0_init: initial α0 in (0, 1); start near 1, because the channel count is rounded and the
        reward is flat between whole channels
    :param learnable_scale: whether α0 is learned
    """

    def __init__(self, in_features: int, hidden: int, n_uavs: int, alpha0_init: float, learnable_scale: bool) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.Tanh(), nn.Linear(hidden, n_uavs), nn.Tanh())
        self.alpha0 = LearnableScale(1, alpha0_init, learnable_scale, "alpha0_init")

    def forward(self, features: th.Tensor) -> th.Tensor:
        """Channel fractions of ξ_total, summing to α0, shape ``(batch, N)``."""
        return self.alpha0() * rescale_sum(th.abs(self.net(features)), above=0.0)


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
    ) -> None:
        super().__init__()
        if temperature is not None and not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"assignment_temperature must be a finite number in (0, inf) or None, got {temperature!r}")
        self.temperature = temperature
        self.shape = (n_satellites, n_uavs)
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.Tanh(), nn.Linear(hidden, n_satellites * n_uavs), nn.Tanh()
        )
        self.alpha = LearnableScale(n_satellites, alpha_init, learnable_scale, "alpha_init")

    def forward(self, features: th.Tensor) -> th.Tensor:
        """CPU shares ρ, each column non-zero only on its satellite, rows summing to α_j, shape ``(batch, M, N)``."""
        magnitude = th.abs(self.net(features)).reshape(-1, *self.shape)
        if self.training and self.temperature is not None:
            kept = magnitude * th.softmax(magnitude / self.temperature, dim=-2)
        else:
            kept = keep_column_max(magnitude)
        return self.alpha()[:, None] * rescale_sum(kept, above=0.0)

"""The action decoder ``project`` (spec §6): any action in the box → a feasible allocation.

An action is a flat vector of ``N + M·N`` values: the channel part (N values) followed by the CPU-share matrix
ρ in row-major order (row j = satellite j). Decoding works on absolute values, so every finite action decodes
to an allocation meeting C2–C5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sb3_ccddpg_envs.feasibility import column_argmax, keep_column_max, rescale_sum


@dataclass(frozen=True)
class Allocation:
    """A decoded allocation, batched over leading dimensions ``...``.

    :param channels: ξ, whole OFDMA channels per UAV, integers ≥ 1 summing to at most ξ_total, shape ``(..., N)``
    :param association: index j of the satellite each UAV offloads to (φ_{i,j} = 1), shape ``(..., N)``
    :param cpu_share: ρ, share of satellite j's CPU given to UAV i, zero where φ_{i,j} = 0, rows summing to
        at most 1, shape ``(..., M, N)``
    """

    channels: NDArray[np.int64]
    association: NDArray[np.int64]
    cpu_share: NDArray[np.float64]

    def __getitem__(self, index: int | slice | tuple[int | slice, ...]) -> Allocation:
        """Select along the batch dimensions."""
        return Allocation(self.channels[index], self.association[index], self.cpu_share[index])


def action_size(n_uavs: int, n_satellites: int) -> int:
    """Length ``N + M·N`` of a flat action."""
    return n_uavs + n_satellites * n_uavs


def split_action(action: NDArray[np.floating], n_uavs: int, n_satellites: int) -> tuple[NDArray, NDArray]:
    """Split flat actions into the channel part ``(..., N)`` and the share matrix ``(..., M, N)``."""
    matrix = action[..., n_uavs:].reshape((*action.shape[:-1], n_satellites, n_uavs))
    return action[..., :n_uavs], matrix


def canonical_action(action: ArrayLike, n_uavs: int, n_satellites: int) -> NDArray[np.float64]:
    """Steps 1, 3 and 4 of spec §6 in float64: the continuous part of the decoder.

    Channel fractions are ``|a[:N]|``, rescaled to sum to 1 when their sum exceeds 1 (uniform when it is 0);
    the share matrix keeps each column's largest ``|a|`` and rows summing to more than 1 are rescaled to 1.
    A CC-DDPG actor output is a fixed point of this map.

    :param action: shape ``(..., N + M·N)``, finite
    :param n_uavs: N
    :param n_satellites: M
    :return: the canonical action, same shape, float64
    """
    magnitude = np.abs(_as_actions(action, n_uavs, n_satellites))
    fractions, shares = split_action(magnitude, n_uavs, n_satellites)
    fractions = np.where(fractions.sum(axis=-1, keepdims=True) > 0, fractions, 1.0 / n_uavs)
    fractions = rescale_sum(fractions, above=1.0)
    shares = rescale_sum(keep_column_max(shares), above=1.0)
    return np.concatenate([fractions, shares.reshape((*shares.shape[:-2], -1))], axis=-1)


def whole_channels(fractions: NDArray[np.float64], channels_total: int) -> NDArray[np.int64]:
    """Step 2 of spec §6: channel fractions (summing to at most 1) → whole channels.

    ``K = clip(round_half_up(ξ_total·Σx), N, ξ_total)`` channels are used; each UAV gets one and the other
    ``K − N`` go by the largest-remainder (Hamilton) method in proportion to ``max(K·x_i/Σx − 1, 0)``,
    ties to the lower index.

    :param fractions: non-negative, positive sum, shape ``(..., N)``
    :param channels_total: ξ_total
    :return: integers ≥ 1 summing to K, shape ``(..., N)``
    """
    n_uavs = fractions.shape[-1]
    total = fractions.sum(axis=-1, keepdims=True)
    in_use = np.clip(np.floor(channels_total * total + 0.5), n_uavs, channels_total)
    excess = np.maximum(in_use * fractions / total - 1.0, 0.0)
    spare = in_use - n_uavs
    excess_total = excess.sum(axis=-1, keepdims=True)
    quota = np.where(excess_total > 0, spare * excess / np.where(excess_total > 0, excess_total, 1.0), 0.0)
    granted = np.floor(quota)
    leftover = spare - granted.sum(axis=-1, keepdims=True)
    # Largest remainders first, ties to the lower index (a stable sort of the negated remainders).
    order = np.argsort(-(quota - granted), axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    return (1 + granted + (rank < leftover)).astype(np.int64)


def project(action: ArrayLike, n_uavs: int, n_satellites: int, channels_total: int) -> Allocation:
    """Decode actions into feasible allocations (spec §6), batched over leading dimensions.

    :param action: finite values, shape ``(..., N + M·N)``; computed in float64 whatever the dtype
    :param n_uavs: N, at most ``channels_total``
    :param n_satellites: M
    :param channels_total: ξ_total
    :return: the allocation, meeting C2 (row sums ≤ 1 up to rounding), C3/C4 and C5 exactly
    :raises ValueError: if N > ξ_total, or the action has the wrong shape or non-finite values
    """
    if n_uavs > channels_total:
        raise ValueError(f"n_uavs must be at most channels_total = {channels_total} (every UAV needs a channel), got {n_uavs}")
    canonical = canonical_action(action, n_uavs, n_satellites)
    fractions, shares = split_action(canonical, n_uavs, n_satellites)
    return Allocation(whole_channels(fractions, channels_total), column_argmax(shares).astype(np.int64), shares)


def project_association(action: ArrayLike, n_uavs: int, n_satellites: int) -> NDArray[np.int64]:
    """φ of :func:`project` alone, without decoding the channels and shares: each column's largest ``|ρ|``
    (spec §6 step 3; the rescaling of step 4 keeps a column's only non-zero entry where it is).

    :param action: finite values, shape ``(..., N + M·N)``
    :param n_uavs: N
    :param n_satellites: M
    :return: the satellite of each UAV, shape ``(..., N)``, equal to ``project(action, ...).association``
    :raises ValueError: if the action has the wrong shape or non-finite values
    """
    magnitude = np.abs(_as_actions(action, n_uavs, n_satellites))
    return column_argmax(split_action(magnitude, n_uavs, n_satellites)[1]).astype(np.int64)


def encode(allocation: Allocation, channels_total: int) -> NDArray[np.float64]:
    """Re-encode an allocation as an action (``x_i = ξ_i/ξ_total``, then ρ row-major), the inverse of :func:`project`.

    Decoding the result gives the allocation back: channels and association exactly, ρ to 1e-12. Cast to
    float32 (as an env action) ρ comes back to 1e-6, provided every kept share is at least
    ``finfo(float32).tiny`` ≈ 1.2e-38: a smaller one flushes to zero and its UAV falls to satellite 0.

    :param allocation: a feasible allocation, batched
    :param channels_total: ξ_total
    :return: actions, shape ``(..., N + M·N)``, float64
    """
    shares = np.asarray(allocation.cpu_share, dtype=np.float64)
    fractions = np.asarray(allocation.channels, dtype=np.float64) / channels_total
    return np.concatenate([fractions, shares.reshape((*shares.shape[:-2], -1))], axis=-1)


def _as_actions(action: ArrayLike, n_uavs: int, n_satellites: int) -> NDArray[np.float64]:
    values = np.asarray(action, dtype=np.float64)
    expected = action_size(n_uavs, n_satellites)
    if values.ndim == 0 or values.shape[-1] != expected:
        raise ValueError(f"action must have shape (..., {expected}) = (..., n_uavs + n_satellites·n_uavs), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("action must be finite, got NaN or inf")
    return values

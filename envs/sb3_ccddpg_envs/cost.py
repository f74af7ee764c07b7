"""Delay and energy of an allocation (spec §3–5, paper eqs 3–17), pure NumPy batched over leading dimensions.

:func:`allocation_cost` returns the keys of spec §10 for any batch of states and allocations; nothing here
draws random numbers or keeps state.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sb3_ccddpg_envs.config import BITS_PER_MB, SatGroundConfig
from sb3_ccddpg_envs.decode import Allocation
from sb3_ccddpg_envs.reference import equal_split

#: Keys of the dictionary returned by :func:`allocation_cost` (spec §10).
COST_KEYS = (
    "data_mb",
    "channels",
    "association",
    "rho",
    "T_up",
    "T_inter",
    "T_down",
    "T_train",
    "T_block",
    "T_total",
    "E_com",
    "E_hover",
    "E_UAV",
    "E_cmp",
    "E_total",
    "objective",
    "C6_ok",
    "C7_ok",
    "mu",
)


def delay_energy(config: SatGroundConfig, data_mb: ArrayLike, allocation: Allocation) -> dict[str, NDArray]:
    """Every delay and energy term of allocations on data sizes (eqs 3–16), without the objective.

    Shapes broadcast over leading dimensions ``...``; N and M are taken from ``config``.

    :param config: system parameters
    :param data_mb: D_i, data size of each UAV (MB), shape ``(..., N)``
    :param allocation: channels ξ ``(..., N)``, association ``(..., N)``, CPU shares ρ ``(..., M, N)``;
        entries of ρ outside the association are ignored
    :return: dict with the inputs (``rho`` masked to the association) and the T/E keys of :data:`COST_KEYS`,
        times in s, energies in J
    """
    n_satellites = config.n_satellites
    data = np.asarray(data_mb, dtype=np.float64)
    channels = np.asarray(allocation.channels)
    association = np.asarray(allocation.association)
    cpu_share = np.asarray(allocation.cpu_share, dtype=np.float64)
    batch = np.broadcast_shapes(data.shape[:-1], channels.shape[:-1], association.shape[:-1], cpu_share.shape[:-2])
    data, channels, association = (_broadcast(a, (*batch, data.shape[-1])) for a in (data, channels, association))
    cpu_share = _broadcast(cpu_share, (*batch, *cpu_share.shape[-2:]))
    # φ as a one-hot matrix (..., M, N), and ρ restricted to it.
    on_satellite = association[..., None, :] == np.arange(n_satellites)[:, None]
    rho = np.where(on_satellite, cpu_share, 0.0)
    per_satellite = _SatelliteSums(association, n_satellites)

    t_up = BITS_PER_MB * data / (channels * config.channel_rate)  # eqs 3–4
    t_inter = (
        math.log2(n_satellites) * BITS_PER_MB * config.model_size_mb * per_satellite.count().max(axis=-1)
        + math.log2(config.effective_block_producers) * BITS_PER_MB * config.block_size_mb
    ) / config.inter_satellite_rate  # eq 5, max_j N_j
    t_down = np.full(batch, BITS_PER_MB * config.model_size_mb / config.downlink_rate)
    t_trans = t_up.max(axis=-1) + t_inter + t_down  # eq 6

    cycles = data * config.units_per_mb * config.cycles_per_unit  # per UAV
    own_share = rho.sum(axis=-2)  # ρ_{a(i),i}: the only non-zero entry of column i
    t_train_uav = cycles / ((own_share + config.eps) * config.cpu_frequency)
    if config.train_aggregation == "sum":
        t_train = per_satellite.sum(t_train_uav).max(axis=-1)  # eq 7
    else:
        t_train = t_train_uav.max(axis=-1)  # max over satellites of the max over their UAVs
    t_block = np.full(
        batch, config.units_per_mb * config.block_size_mb * config.block_cycles_per_unit / config.cpu_frequency
    )  # eq 8
    t_total = t_trans + t_train + t_block  # eqs 9–10

    e_com = config.uav_tx_power * t_up.sum(axis=-1)  # eq 11, Σ_i
    e_hover = data.shape[-1] * config.hover_power * t_total  # eq 12, Σ_i
    if config.energy_model == "eq15":
        total_frequency = per_satellite.sum(own_share) * config.cpu_frequency
        e_cmp = config.capacitance * per_satellite.sum(cycles) * total_frequency**2
    else:
        e_cmp = config.capacitance * per_satellite.sum(cycles * (own_share * config.cpu_frequency) ** 2)
    e_uav = e_com + e_hover  # eq 13
    return {
        "data_mb": data,
        "channels": channels,
        "association": association,
        "rho": rho,
        "T_up": t_up,
        "T_inter": t_inter,
        "T_down": t_down,
        "T_train": t_train,
        "T_block": t_block,
        "T_total": t_total,
        "E_com": e_com,
        "E_hover": e_hover,
        "E_UAV": e_uav,
        "E_cmp": e_cmp,
        "E_total": e_uav + e_cmp.sum(axis=-1),  # eq 16
    }


def allocation_cost(
    config: SatGroundConfig,
    data_mb: ArrayLike,
    allocation: Allocation,
    mu: ArrayLike | None = None,
) -> dict[str, NDArray]:
    """Score allocations: every term of :func:`delay_energy`, the objective (eq 17) and the C6/C7 flags.

    :param config: system parameters
    :param data_mb: D_i (MB), shape ``(..., N)``
    :param allocation: the allocations to score, batched like ``data_mb``
    :param mu: μ ∈ [0, 1], scalar or shape ``(...)``; ``None`` means ``config.mu``
    :return: dict with the keys of :data:`COST_KEYS` (spec §10); ``objective`` is unclipped and without penalty
    """
    terms = delay_energy(config, data_mb, allocation)
    weight = np.asarray(config.mu if mu is None else mu, dtype=np.float64)
    t_max, e_max = reference_normalisers(config)
    terms["objective"] = (1.0 - weight) * terms["T_total"] / t_max + weight * terms["E_total"] / e_max
    terms["C6_ok"] = terms["T_total"] <= 2.0 * t_max
    terms["C7_ok"] = terms["E_UAV"] <= 2.0 * e_max
    terms["mu"] = np.broadcast_to(weight, terms["objective"].shape)
    return terms


class _SatelliteSums:
    """Sums over the UAVs associated to each satellite, Σ_{i: a(i)=j}, as one ``bincount`` per quantity."""

    def __init__(self, association: NDArray[np.int64], n_satellites: int) -> None:
        self.batch_shape = association.shape[:-1]
        self.n_satellites = n_satellites
        n_batch = int(np.prod(self.batch_shape))
        offsets = n_satellites * np.arange(n_batch)[:, None]
        self.bins = (association.reshape(n_batch, -1) + offsets).ravel()
        self.length = n_batch * n_satellites

    def sum(self, per_uav: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per-UAV values ``(..., N)`` → per-satellite sums ``(..., M)``."""
        totals = np.bincount(self.bins, weights=per_uav.ravel(), minlength=self.length)
        return totals.reshape((*self.batch_shape, self.n_satellites))

    def count(self) -> NDArray[np.int64]:
        """N_j, number of UAVs per satellite ``(..., M)``."""
        return np.bincount(self.bins, minlength=self.length).reshape((*self.batch_shape, self.n_satellites))


def _broadcast(array: NDArray, shape: tuple[int, ...]) -> NDArray:
    return array if array.shape == shape else np.broadcast_to(array, shape)


@functools.lru_cache(maxsize=64)
def reference_normalisers(config: SatGroundConfig) -> tuple[float, float]:
    """T_max (s) and E_max (J) of the objective (spec §5).

    The equal split with every D_i at the top of ``data_mb_range``, at
    :attr:`~sb3_ccddpg_envs.SatGroundConfig.effective_reference_n_uavs` UAVs (default ``min(11, channels_total)``)
    and the summed eq 7: T_max is its T_total, E_max its E_UAV (so it does not depend on the energy model).
    With the default ``reference_n_uavs = 11`` they depend on the physical parameters but not on N, μ, the
    energy model or the aggregation, so results for different N and μ compare on one scale; with
    ``reference_n_uavs=None`` they follow the configuration's own N (spec §5a). Defaults give 812.957 s and
    897 364.48 J.

    :param config: system parameters
    :return: ``(t_max, e_max)``
    """
    reference = config.replace(n_uavs=config.effective_reference_n_uavs, train_aggregation="sum")
    terms = delay_energy(reference, np.full(reference.n_uavs, reference.data_mb_range[1]), equal_split(reference))
    return float(terms["T_total"]), float(terms["E_UAV"])

"""The exact optimum of problem (17) for one state: the best possible allocation, as a method.

Structure used (each step is checked against brute force in ``tests/test_oracle.py``):

1. With ``a = (1−μ)/T_max + μ·N·P_hover/E_max``, ``b = μ·P_u/E_max`` and ``c = μ/E_max`` the objective is
   ``a·T_total + b·Σ_i T_up_i + c·Σ_j E_cmp_j`` (hover energy is ``N·P_hover·T_total``). ``T_total`` is
   ``max_i T_up_i + T_inter + T_train + constants``, so the objective splits into a channel part (ξ only)
   and an association/CPU-share part (φ and ρ only); C6 and C7 couple them.
2. Channel part: for every bottleneck value t = s_i/k (s_i the upload time on one channel), each UAV needs
   ``ceil(s_i/t)`` channels; the remaining channels go greedily to the largest reductions of Σ T_up (optimal
   for a separable convex sum). Every optimal ξ is among these candidates. All ξ_total channels are used.
3. Satellites are identical, so association only matters up to the partition of the UAVs into at most M
   groups (29 525 for N = 11, M = 3). For a fixed partition and a common time level τ = max_j T_j the
   CPU-share problem has closed forms: ``"sum"``/``"eq15"``: shares ∝ √(cycles) within a satellite;
   ``"max"``: ρ_i = cycles_i/(f·τ). The objective is then ``a·τ + c·S/τ²`` on ``τ ≥ τ_min`` (each
   satellite's shares summing to at most 1), minimised at ``τ = (2cS/a)^(1/3)`` clipped to the bounds.
4. ``"sum"`` with ``"eq14"`` has no closed form once a satellite's share cap binds: a lower bound (equal
   shares, the cap dropped) prunes the partitions and SLSQP (scipy) solves the rest to ~1e-12.
5. C6/C7 cap τ for each pair of a partition and a Pareto-efficient channel candidate; the convex objective
   in τ is then minimised at the clipped stationary point. A state where no allocation meets C6/C7 is
   solved without them and reported as infeasible.

The exact ε of eq 7 (1e-9) is ignored in the search and included when the result is scored.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from sb3_ccddpg_envs import Allocation, SatGroundConfig, allocation_cost, reference_normalisers
from sb3_ccddpg_envs.config import BITS_PER_MB


@dataclass(frozen=True)
class _Weights:
    """Coefficients of the separable objective and the constants of T_total (s)."""

    delay: float  # a, per second of T_total
    upload_sum: float  # b, per second of Σ_i T_up_i
    energy: float  # c, per joule of Σ_j E_cmp_j
    fixed_delay: float  # T_down + T_block + the block part of T_inter (s)
    per_uav_inter: float  # T_inter per UAV on the most loaded satellite (s)
    delay_cap: float  # C6: T_total ≤ this (s)
    uav_energy_cap: float  # C7: E_UAV ≤ this (J)


def _weights(config: SatGroundConfig, mu: float) -> _Weights:
    t_max, e_max = reference_normalisers(config)
    block = math.log2(config.effective_block_producers) * BITS_PER_MB * config.block_size_mb / config.inter_satellite_rate
    return _Weights(
        delay=(1.0 - mu) / t_max + mu * config.n_uavs * config.hover_power / e_max,
        upload_sum=mu * config.uav_tx_power / e_max,
        energy=mu / e_max,
        fixed_delay=BITS_PER_MB * config.model_size_mb / config.downlink_rate
        + config.units_per_mb * config.block_size_mb * config.block_cycles_per_unit / config.cpu_frequency
        + block,
        per_uav_inter=math.log2(config.n_satellites) * BITS_PER_MB * config.model_size_mb / config.inter_satellite_rate,
        delay_cap=2.0 * t_max,
        uav_energy_cap=2.0 * e_max,
    )


def channel_candidates(single_channel_upload_s: NDArray[np.float64], channels_total: int) -> NDArray[np.int64]:
    """Channel vectors among which every optimum of the channel part lies (step 2 of the module docstring).

    :param single_channel_upload_s: s_i, upload time of each UAV on one channel (s), shape ``(N,)``
    :param channels_total: ξ_total ≥ N
    :return: distinct channel vectors, shape ``(n_candidates, N)``, each summing to ξ_total
    """
    upload = np.asarray(single_channel_upload_s, dtype=np.float64)
    counts = np.arange(1, channels_total + 1)
    bottlenecks = np.unique(upload[:, None] / counts)  # every possible max_i s_i/ξ_i
    # ceil with a relative tolerance: s_i/t that is an integer up to rounding needs exactly that many.
    need = np.ceil(upload / bottlenecks[:, None] * (1.0 - 1e-12)).astype(np.int64)
    need = np.maximum(need, 1)
    need = need[need.sum(axis=1) <= channels_total]
    spare = channels_total - need.sum(axis=1)
    # Reduction of Σ s_i/ξ_i by the k-th extra channel of UAV i, non-increasing in k.
    extra = np.arange(channels_total)
    current = need[:, :, None] + extra  # (C, N, K)
    gain = upload[None, :, None] / current - upload[None, :, None] / (current + 1)
    flat = gain.reshape(len(need), -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    rank = np.argsort(order, axis=1, kind="stable")
    granted = (rank < spare[:, None]).reshape(gain.shape).sum(axis=-1)
    return np.unique(need + granted, axis=0)


@functools.lru_cache(maxsize=16)
def set_partitions(n_items: int, max_blocks: int) -> NDArray[np.int64]:
    """All partitions of ``n_items`` labelled items into at most ``max_blocks`` unlabelled blocks.

    Each row is a restricted-growth string: item 0 is in block 0 and item i opens at most block
    ``1 + max(labels of items before i)``.

    :return: block labels, shape ``(n_partitions, n_items)``; 29 525 rows for (11, 3)
    """
    rows = np.zeros((1, 1), dtype=np.int64)
    for _ in range(1, n_items):
        highest = rows.max(axis=1)
        choices = [rows[highest + 1 >= label] for label in range(max_blocks)]
        rows = np.concatenate([np.column_stack([chosen, np.full(len(chosen), label)]) for label, chosen in enumerate(choices)])
    return rows[np.lexsort(rows.T[::-1])]


@dataclass(frozen=True)
class _ShareSolution:
    """The best CPU shares of every partition, at the unconstrained time level."""

    time_floor: NDArray[np.float64]  # τ_min per partition (s)
    energy_scale: NDArray[np.float64]  # S: satellite energy at time level τ is S/τ² (J·s²)
    inter_delay: NDArray[np.float64]  # T_inter of the partition (s), without the fixed block part


class Oracle:
    """The exact solver of problem (17) as an evaluation method (see the module docstring).

    :param config: system parameters (both energy models and both training aggregations are supported)
    :param name: label in tables
    :param partitions: restrict the search to these satellite assignments, shape ``(K, N)`` with labels in
        ``[0, M)``; channels and CPU shares are still exact for each. ``None`` (default) searches every
        partition, which is the exact optimum of problem (17).
    """

    def __init__(self, config: SatGroundConfig, name: str = "oracle", partitions: NDArray[np.int64] | None = None) -> None:
        self.config = config
        self.name = name
        self.partitions = set_partitions(config.n_uavs, config.n_satellites) if partitions is None else partitions
        self.on_satellite = (self.partitions[:, None, :] == np.arange(config.n_satellites)[:, None]).astype(np.float64)
        self.last_feasible = True

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """The optimal allocation for one state (C6/C7 honoured when any allocation meets them)."""
        config = self.config
        weights = _weights(config, mu)
        data = np.asarray(data_mb, dtype=np.float64)
        upload = BITS_PER_MB * data / config.channel_rate
        candidates = channel_candidates(upload, config.channels_total)
        bottleneck = (upload / candidates).max(axis=1)
        upload_sum = (upload / candidates).sum(axis=1)
        cycles = data * config.units_per_mb * config.cycles_per_unit
        shares = self._share_problem(cycles, weights)

        # Unconstrained: best channels plus best partition at its stationary time level.
        channel_cost = weights.delay * bottleneck + weights.upload_sum * upload_sum
        if config.energy_model == "eq14" and config.train_aggregation == "sum":
            return self._eq14_sum(data, mu, weights, candidates[np.argmin(channel_cost)], cycles, shares)
        levels = _best_level(shares.time_floor, shares.energy_scale, weights, np.inf)
        partition_cost = weights.delay * (shares.inter_delay + levels) + weights.energy * shares.energy_scale / levels**2
        best_channels = int(np.argmin(channel_cost))
        best_partition = int(np.argmin(partition_cost))
        allocation = self._allocation(candidates[best_channels], best_partition, cycles, levels[best_partition])
        terms = allocation_cost(config, data, allocation, mu)
        self.last_feasible = bool(terms["C6_ok"] and terms["C7_ok"])
        if self.last_feasible:
            return allocation
        return self._constrained(data, mu, weights, candidates, bottleneck, upload_sum, cycles, shares) or allocation

    def _share_problem(self, cycles: NDArray[np.float64], weights: _Weights) -> _ShareSolution:
        config = self.config
        frequency = config.cpu_frequency
        group_cycles = self.on_satellite @ cycles  # (P, M)
        most_loaded = self.on_satellite.sum(axis=-1).max(axis=-1)  # max_j N_j
        if config.train_aggregation == "sum":
            root_sum = self.on_satellite @ np.sqrt(cycles)
            floor_per_group = root_sum**2 / frequency  # time with the whole CPU, √-split
            if config.energy_model == "eq15":
                scale = config.capacitance * frequency**2 * (group_cycles * floor_per_group**2).sum(axis=-1)
            else:  # lower bound: equal shares, cap dropped (exact once no cap binds)
                scale = config.capacitance * (group_cycles**3).sum(axis=-1)
        else:
            floor_per_group = group_cycles / frequency  # ρ_i = c_i/(fτ) must sum to ≤ 1
            if config.energy_model == "eq15":
                scale = config.capacitance * (group_cycles**3).sum(axis=-1)
            else:
                scale = np.full(len(self.partitions), config.capacitance * (cycles**3).sum())
        return _ShareSolution(floor_per_group.max(axis=-1), scale, weights.per_uav_inter * most_loaded)

    def _allocation(
        self, channels: NDArray[np.int64], partition: int, cycles: NDArray[np.float64], level: float
    ) -> Allocation:
        config = self.config
        labels = self.partitions[partition]
        on_satellite = self.on_satellite[partition]
        if config.train_aggregation == "sum":
            root = np.sqrt(cycles)
            group_root = on_satellite @ root
            group_total = group_root**2 / (config.cpu_frequency * level)  # R_j
            share = group_total[labels] * root / group_root[labels]
        else:
            share = cycles / (config.cpu_frequency * level)
        cpu_share = on_satellite * share
        # Guard the rounding of R_j = K_j/τ at τ = τ_min: C2 must hold exactly as the decoder keeps it.
        totals = cpu_share.sum(axis=-1, keepdims=True)
        cpu_share = cpu_share / np.maximum(totals, 1.0)
        return Allocation(np.asarray(channels, dtype=np.int64), labels.astype(np.int64), cpu_share)

    def _constrained(
        self,
        data: NDArray[np.float64],
        mu: float,
        weights: _Weights,
        candidates: NDArray[np.int64],
        bottleneck: NDArray[np.float64],
        upload_sum: NDArray[np.float64],
        cycles: NDArray[np.float64],
        shares: _ShareSolution,
    ) -> Allocation | None:
        """Joint search over Pareto-efficient channels × partitions with τ capped by C6/C7."""
        config = self.config
        efficient = _pareto_efficient(bottleneck, upload_sum)
        bottleneck, upload_sum, candidates = bottleneck[efficient], upload_sum[efficient], candidates[efficient]
        rest = bottleneck[:, None] + shares.inter_delay[None, :] + weights.fixed_delay  # (K, P)
        cap = np.minimum(
            weights.delay_cap - rest,
            (weights.uav_energy_cap - config.uav_tx_power * upload_sum[:, None]) / (config.n_uavs * config.hover_power) - rest,
        )
        levels = _best_level(shares.time_floor[None, :], shares.energy_scale[None, :], weights, cap)
        cost = (
            weights.delay * (bottleneck[:, None] + shares.inter_delay[None, :] + levels)
            + weights.upload_sum * upload_sum[:, None]
            + weights.energy * shares.energy_scale[None, :] / levels**2
        )
        cost = np.where(cap >= shares.time_floor[None, :], cost, np.inf)
        if not np.isfinite(cost).any():
            return None
        k, p = np.unravel_index(np.argmin(cost), cost.shape)
        self.last_feasible = True
        return self._allocation(candidates[k], int(p), cycles, float(levels[k, p]))

    def _eq14_sum(
        self,
        data: NDArray[np.float64],
        mu: float,
        weights: _Weights,
        channels: NDArray[np.int64],
        cycles: NDArray[np.float64],
        shares: _ShareSolution,
    ) -> Allocation:
        """``"eq14"`` with summed eq 7: prune partitions by the lower bound, solve the rest with SLSQP."""
        config = self.config
        levels = _best_level(shares.time_floor, shares.energy_scale, weights, np.inf)
        bound = weights.delay * (shares.inter_delay + levels) + weights.energy * shares.energy_scale / levels**2
        best_cost, best = np.inf, None
        for partition in np.argsort(bound):
            if bound[partition] >= best_cost * (1.0 - 1e-12):
                break
            cost, cpu_share = _solve_eq14_sum(
                config, self.on_satellite[partition], cycles, weights, float(shares.inter_delay[partition])
            )
            if cost < best_cost:
                best_cost, best = cost, Allocation(channels, self.partitions[partition].astype(np.int64), cpu_share)
        assert best is not None  # the lowest bound is always solved
        terms = allocation_cost(config, data, best, mu)
        self.last_feasible = bool(terms["C6_ok"] and terms["C7_ok"])
        return best


def _best_level(
    floor: NDArray[np.float64], scale: NDArray[np.float64], weights: _Weights, cap: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    """Minimiser of ``a·τ + c·S/τ²`` over ``floor ≤ τ ≤ cap`` (the cap is ignored where it is below the floor)."""
    if weights.energy > 0:
        stationary = np.cbrt(2.0 * weights.energy * scale / weights.delay)
    else:
        stationary = np.zeros_like(scale)
    return np.maximum(np.minimum(stationary, cap), floor)


def _pareto_efficient(first: NDArray[np.float64], second: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Points not dominated in (first, second), both to be minimised."""
    order = np.lexsort((second, first))
    efficient = np.zeros(first.size, dtype=bool)
    best_second = np.inf
    for index in order:
        if second[index] < best_second:
            efficient[index] = True
            best_second = second[index]
    return efficient


def _solve_eq14_sum(
    config: SatGroundConfig,
    on_satellite: NDArray[np.float64],
    cycles: NDArray[np.float64],
    weights: _Weights,
    inter_delay: float,
) -> tuple[float, NDArray[np.float64]]:
    """Shares of one partition for ``"eq14"``/``"sum"``: min a·(T_inter + τ) + c·α f² Σ c_i ρ_i² (SLSQP)."""
    frequency, n_uavs = config.cpu_frequency, config.n_uavs
    scale = max(cycles.max() / frequency, 1e-12)  # seconds → order-one variables
    energy_coefficient = weights.energy * config.capacitance * frequency**2
    labels = on_satellite.argmax(axis=0)
    root = np.sqrt(cycles)
    start_share = (on_satellite * root).sum(axis=0) / (on_satellite @ root)[labels]
    start_level = ((on_satellite * (cycles / (start_share * frequency))).sum(axis=-1)).max() / scale

    def objective(x: NDArray[np.float64]) -> float:
        return float(weights.delay * scale * x[-1] + energy_coefficient * (cycles * x[:-1] ** 2).sum())

    constraints = [
        {"type": "ineq", "fun": lambda x: x[-1] - (on_satellite @ (cycles / (x[:-1] * frequency))) / scale},
        {"type": "ineq", "fun": lambda x: 1.0 - on_satellite @ x[:-1]},
    ]
    result = minimize(
        objective,
        np.append(start_share, start_level),
        method="SLSQP",
        bounds=[(1e-9, 1.0)] * n_uavs + [(0.0, None)],
        constraints=constraints,
        options={"ftol": 1e-15, "maxiter": 500},
    )
    share = np.clip(result.x[:-1], 1e-9, 1.0)
    cpu_share = on_satellite * share
    cpu_share = cpu_share / np.maximum(cpu_share.sum(axis=-1, keepdims=True), 1.0)
    level = float((on_satellite @ (cycles / (cpu_share.sum(axis=0) * frequency))).max())
    cost = weights.delay * (inter_delay + level) + energy_coefficient * float((cycles * cpu_share.sum(axis=0) ** 2).sum())
    return cost, cpu_share

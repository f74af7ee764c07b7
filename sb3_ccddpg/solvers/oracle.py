"""The exact optimum of problem (17) for one state: the best possible allocation, as a method.

Structure used (each step is checked against brute force in ``tests/test_oracle.py``):

1. With ``a = (1−μ)/T_max + μ·N·P_hover/E_max``, ``b = μ·P_u/E_max`` and ``c = μ/E_max`` the objective is
   ``a·T_total + b·Σ_i T_up_i + c·Σ_j E_cmp_j`` (hover energy is ``N·P_hover·T_total``). ``T_total`` is
   ``max_i T_up_i + T_inter + T_train + constants``, so the objective splits into a channel part (ξ only)
   and an association/CPU-share part (φ and ρ only); C6 and C7 couple them.
2. Channel part: for every bottleneck value t = s_i/k (s_i the upload time on one channel), each UAV needs
   ``ceil(s_i/t)`` channels; the remaining channels go greedily to the largest reductions of Σ T_up (optimal
   for a separable convex sum). Every optimal ξ is among these candidates. All ξ_total channels are used.
   It does not depend on the association: :class:`StateProblem` solves it once per state and μ and then
   fills any number of assignment batches.
3. Satellites are identical, so association only matters up to the partition of the UAVs into at most M
   groups (29 525 for N = 11, M = 3). For a fixed partition and a common time level τ = max_j T_j the
   CPU-share problem has closed forms: ``"sum"``/``"eq15"``: shares ∝ √(cycles) within a satellite;
   ``"max"``: ρ_i = cycles_i/(f·τ). The objective is then ``a·τ + c·S/τ²`` on ``τ ≥ τ_min`` (each
   satellite's shares summing to at most 1), minimised at ``τ = (2cS/a)^(1/3)`` clipped to the bounds.
4. ``"sum"`` with ``"eq14"`` has no closed form once a satellite's share cap binds: a lower bound (equal
   shares, the cap dropped) prunes the partitions and the rest are solved from the KKT conditions, three
   nested 1-D root findings (:func:`eq14_sum_shares`).
5. C6/C7 cap τ for each pair of a partition and a Pareto-efficient channel candidate; the convex objective
   in τ is then minimised at the clipped stationary point. A state where no allocation meets C6/C7 is
   solved without them and reported as infeasible. (``"eq14"`` with ``"sum"`` is solved without them and
   only reports whether its optimum meets them.)

Enumerating the partitions stops being possible at N ≈ 12 (Σ_{k ≤ M} S(N, k) partitions, S the Stirling
numbers of the second kind): above :data:`PARTITION_LIMIT` of them :func:`set_partitions` refuses. Above
:data:`ENUMERATION_LIMIT` (where it is faster) :class:`Oracle` solves by branch and bound over assignments
instead (:func:`~sb3_ccddpg.solvers.branch_and_bound.solve`, same steps 1–5 at its leaves).

The exact ε of eq 7 (1e-9) is ignored in the search and included when the result is scored.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from sb3_ccddpg_envs import Allocation, SatGroundConfig, allocation_cost, reference_normalisers
from sb3_ccddpg_envs.config import BITS_PER_MB

if TYPE_CHECKING:
    from sb3_ccddpg.solvers.branch_and_bound import Solution

#: Most partitions :func:`set_partitions` lists (its table takes ``8·N`` bytes per partition in the oracle):
#: N ≤ 11 for every M ≤ 8, N = 12 up to M = 4, N = 13 up to M = 3.
PARTITION_LIMIT = 1_000_000
#: Most partitions :meth:`Oracle.allocate` enumerates; above, branch and bound is faster (measured per state,
#: one thread, eq15/sum: N = 11, M = 4 (175 275 partitions) 67 ms vs 11 ms; N = 9, M = 8 (21 146) 16.7 vs 3.8 ms;
#: N = 11, M = 3 (29 525) 10.8 vs 7.9 ms, but eq14/sum 54 vs 106 ms there, so the paper's size keeps the
#: enumeration and its allocations).
ENUMERATION_LIMIT = 30_000
#: Default seconds per state of :meth:`Oracle.allocate` when it solves by branch and bound.
ALLOCATE_TIME_LIMIT = 5.0
#: Partitions whose ``"eq14"``/``"sum"`` shares are solved together (in the order of their lower bounds).
EQ14_BATCH = 64
#: Slack below the C6/C7 caps (relative to C6's threshold) from which a solution is taken to meet them without
#: scoring it (the ε of eq 7 moves T_total by about 3e-8 of it); within the margin the cost model decides.
CAP_MARGIN = 1e-6


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

    Only bottlenecks t = s_i/k that some allocation of ξ_total channels reaches are candidates; there are at most
    ξ_total of them (UAV i reaches t with ``ceil(s_i/t)`` channels), so the largest ξ_total distinct values hold
    them all. The greedy fill of every bottleneck's spare channels is read off one global order of all marginal
    gains (UAV i's x-th → (x+1)-th channel; ties to the lower UAV index): a candidate with needs n takes the
    shortest prefix of that order whose entries with x ≥ n_i number its spare channels (binary search on the
    prefix length, which never exceeds ξ_total − N). Time and memory ``O(N·ξ_total)``.

    :param single_channel_upload_s: s_i, upload time of each UAV on one channel (s), shape ``(N,)``
    :param channels_total: ξ_total ≥ N
    :return: distinct channel vectors, shape ``(n_candidates, N)``, each summing to ξ_total, in lexicographic order
    """
    upload = np.asarray(single_channel_upload_s, dtype=np.float64)
    spare = channels_total - upload.size  # channels beyond one per UAV
    counts = np.arange(1, spare + 2)  # no UAV gets more than spare + 1
    bottlenecks = np.unique(upload[:, None] / counts)[-channels_total:]  # every possible max_i s_i/ξ_i reached
    # ceil with a relative tolerance: s_i/t that is an integer up to rounding needs exactly that many.
    need = np.ceil(upload / bottlenecks[:, None] * (1.0 - 1e-12)).astype(np.int64)
    need = np.maximum(need, 1)
    need = need[need.sum(axis=1) <= channels_total]
    # Reduction of Σ s_i/ξ_i by UAV i's channel x + 1, non-increasing in x; one order for every candidate.
    gain = upload[:, None] / counts[:-1] - upload[:, None] / (counts[:-1] + 1)  # (N, spare), column x − 1
    order = _first_in_stable_order(-gain.ravel(), spare)
    taken = np.zeros((spare + 1, upload.size), dtype=np.int64)  # taken[p, i]: UAV i's gains in the first p
    taken[np.arange(1, spare + 1), order // max(spare, 1)] = 1
    taken = np.cumsum(taken, axis=0)
    low, high = np.zeros(len(need), dtype=np.int64), np.full(len(need), spare)
    while np.any(low < high):  # shortest prefix that fills ξ_total
        middle = (low + high) // 2
        enough = np.maximum(need, taken[middle] + 1).sum(axis=1) >= channels_total
        high = np.where(enough, middle, high)
        low = np.where(enough, low, middle + 1)
    return _unique_rows(np.maximum(need, taken[low] + 1))


def _first_in_stable_order(values: NDArray[np.float64], count: int) -> NDArray[np.int64]:
    """``np.argsort(values, kind="stable")[:count]`` (ties to the lower index) without sorting every value."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    threshold = np.partition(values, count - 1)[count - 1]
    chosen = np.flatnonzero(values <= threshold)
    return chosen[np.argsort(values[chosen], kind="stable")][:count]


def _unique_rows(rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """``np.unique(rows, axis=0)`` for non-negative integers, about 20x faster: each row's big-endian bytes are
    one sort key, whose byte order is the rows' lexicographic order."""
    keys = np.ascontiguousarray(rows.astype(">u8")).view(np.dtype((np.void, 8 * rows.shape[1]))).ravel()
    _, first = np.unique(keys, return_index=True)
    return rows[first]


@functools.cache
def partition_count(n_items: int, max_blocks: int) -> int:
    """Number of partitions of ``n_items`` labelled items into at most ``max_blocks`` blocks, exactly.

    :return: Σ_{k ≤ max_blocks} S(n_items, k), S the Stirling numbers of the second kind
    """
    row = [1] + [0] * max_blocks  # S(0, k)
    for _ in range(n_items):
        row = [0] + [k * row[k] + row[k - 1] for k in range(1, max_blocks + 1)]  # S(n, k) = k S(n−1, k) + S(n−1, k−1)
    return sum(row)


def set_partitions(n_items: int, max_blocks: int) -> NDArray[np.int64]:
    """All partitions of ``n_items`` labelled items into at most ``max_blocks`` unlabelled blocks.

    Each row is a restricted-growth string: item 0 is in block 0 and item i opens at most block
    ``1 + max(labels of items before i)``.

    :return: block labels, shape ``(n_partitions, n_items)``; 29 525 rows for (11, 3)
    :raises ValueError: above :data:`PARTITION_LIMIT` partitions, before allocating anything
    """
    count = partition_count(n_items, max_blocks)
    if count > PARTITION_LIMIT:
        raise ValueError(
            f"cannot enumerate the partitions of N = {n_items} UAVs into at most M = {max_blocks} satellites: "
            f"there are {count:,} (limit PARTITION_LIMIT = {PARTITION_LIMIT:,}); use the branch and bound "
            "Oracle(config).solve(data_mb, mu) for the optimum, or sb3_ccddpg.lower_bound(config, data_mb, mu) for a bound"
        )
    return _set_partitions(n_items, max_blocks)


@functools.lru_cache(maxsize=16)
def _set_partitions(n_items: int, max_blocks: int) -> NDArray[np.int64]:
    rows = np.zeros((1, 1), dtype=np.int64)
    for _ in range(1, n_items):
        highest = rows.max(axis=1)
        choices = [rows[highest + 1 >= label] for label in range(max_blocks)]
        rows = np.concatenate([np.column_stack([chosen, np.full(len(chosen), label)]) for label, chosen in enumerate(choices)])
    return rows[np.lexsort(rows.T[::-1])]


def single_moves(association: NDArray[np.int64], n_satellites: int) -> NDArray[np.int64]:
    """The assignment itself and every assignment that moves one UAV to another satellite.

    :param association: φ, shape ``(N,)``
    :param n_satellites: M
    :return: assignments, shape ``(1 + N·(M−1), N)``; row 0 is ``association``, then UAV by UAV, each to the
        other satellites in increasing order
    """
    n_uavs = association.shape[0]
    others = np.arange(n_satellites - 1)
    targets = others + (others >= association[:, None])  # (N, M − 1): every satellite but a(i), increasing
    moves = np.repeat(association[None, :], 1 + n_uavs * (n_satellites - 1), axis=0)
    rows = 1 + np.arange(n_uavs * (n_satellites - 1))
    moves[rows, np.repeat(np.arange(n_uavs), n_satellites - 1)] = targets.ravel()
    return moves


def pair_swaps(association: NDArray[np.int64]) -> NDArray[np.int64]:
    """Every assignment that exchanges the satellites of two UAVs on different satellites.

    :param association: φ, shape ``(N,)``
    :return: assignments, shape ``(P, N)``, P ≤ N(N−1)/2 (the pairs i < j with φ_i ≠ φ_j, in lexicographic order)
    """
    first, second = _pairs(association.shape[0])
    differ = association[first] != association[second]
    first, second = first[differ], second[differ]
    swapped = np.repeat(association[None, :], first.size, axis=0)
    rows = np.arange(first.size)
    swapped[rows, first], swapped[rows, second] = association[second], association[first]
    return swapped


@functools.lru_cache(maxsize=16)
def _pairs(n_items: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """``np.triu_indices(n_items, k=1)``, kept per size (every descent round asks for it)."""
    first, second = np.triu_indices(n_items, k=1)
    first.flags.writeable = second.flags.writeable = False
    return first, second


def on_satellites(partitions: NDArray[np.int64], n_satellites: int) -> NDArray[np.float64]:
    """φ of each assignment as a 0/1 matrix.

    :param partitions: satellite labels in ``[0, M)``, shape ``(K, N)``
    :param n_satellites: M
    :return: shape ``(K, M, N)``
    """
    return (partitions[:, None, :] == np.arange(n_satellites)[:, None]).astype(np.float64)


def satellite_sums(partitions: NDArray[np.int64], values: NDArray[np.float64], n_satellites: int) -> NDArray[np.float64]:
    """Σ of each UAV's values over every satellite's UAVs, for each assignment: ``on_satellites(partitions) @ v``
    for each row v of ``values``, in ``O(K·N)`` instead of ``O(K·M·N)`` (weighted counts of one index of
    (assignment, satellite) pairs).

    :param partitions: satellite labels in ``[0, M)``, shape ``(K, N)``
    :param values: values per UAV, shape ``(V, N)``
    :param n_satellites: M
    :return: shape ``(V, K, M)``
    """
    n_assignments, n_uavs = partitions.shape
    rows = np.asarray(values, dtype=np.float64)
    bins = n_assignments * n_satellites
    index = (partitions + n_satellites * np.arange(n_assignments)[:, None]).ravel()
    index = (index + bins * np.arange(len(rows))[:, None]).ravel()  # one bincount for every row of values
    weights = np.broadcast_to(rows[:, None, :], (len(rows), n_assignments, n_uavs)).ravel()
    sums = np.bincount(index, weights=weights, minlength=len(rows) * bins).astype(np.float64, copy=False)
    return sums.reshape(len(rows), n_assignments, n_satellites)


@dataclass(frozen=True)
class _ShareSolution:
    """The best CPU shares of every partition, at the unconstrained time level."""

    time_floor: NDArray[np.float64]  # τ_min per partition (s)
    energy_scale: NDArray[np.float64]  # S: satellite energy at time level τ is S/τ² (J·s²)
    inter_delay: NDArray[np.float64]  # T_inter of the partition (s), without the fixed block part


class StateProblem:
    """Problem (17) for one state and μ, with its channel part (step 2 of the module docstring) solved once.

    Build it once per state and call :meth:`fill` on any number of assignment batches: the channel candidates,
    their bottleneck and upload sums and their Pareto-efficient subset (for C6/C7) are shared.

    :param config: system parameters
    :param data_mb: D_i (MB), shape ``(N,)``
    :param mu: μ ∈ [0, 1]
    """

    def __init__(self, config: SatGroundConfig, data_mb: NDArray[np.float64], mu: float) -> None:
        self.config = config
        self.data_mb = np.asarray(data_mb, dtype=np.float64)
        self.mu = mu
        self.weights = _weights(config, mu)
        upload = BITS_PER_MB * self.data_mb / config.channel_rate
        #: Channel candidates ξ, shape ``(C, N)``, and for each its max_i T_up_i and Σ_i T_up_i (s), ``(C,)``.
        self.channels = channel_candidates(upload, config.channels_total)
        self.bottleneck = (upload / self.channels).max(axis=1)
        self.upload_sum = (upload / self.channels).sum(axis=1)
        #: ``a·max_i T_up_i + b·Σ_i T_up_i`` of each candidate, shape ``(C,)``.
        self.channel_cost = self.weights.delay * self.bottleneck + self.weights.upload_sum * self.upload_sum
        self._best_channel = int(np.argmin(self.channel_cost))
        self.best_channels = self.channels[self._best_channel]
        #: Training work of each UAV, D_i·units·C (cycles), shape ``(N,)``.
        self.cycles = self.data_mb * config.units_per_mb * config.cycles_per_unit
        # What each satellite's sums are taken of, for every batch of assignments: cycles, their roots, UAV counts.
        self._summed_per_uav = np.stack([self.cycles, np.sqrt(self.cycles), np.ones_like(self.cycles)])

    @functools.cached_property
    def efficient(self) -> NDArray[np.intp]:
        """Indices of the Pareto-efficient channel candidates in (max_i T_up_i, Σ_i T_up_i), for C6/C7 (computed
        when first asked: a fill that clearly meets them needs none)."""
        return np.flatnonzero(_pareto_efficient(self.bottleneck, self.upload_sum))

    def fill(self, partitions: NDArray[np.int64]) -> tuple[Allocation, bool]:
        """The best of these assignments, each with its exact best channels and CPU shares (C6/C7 as above).

        :param partitions: satellite labels in ``[0, M)``, shape ``(K, N)``
        :return: the allocation, and whether it meets C6/C7 (``False``: none of these assignments can)
        """
        shares = self._share_problem(partitions)
        if self.config.energy_model == "eq14" and self.config.train_aggregation == "sum":
            return self._eq14_sum(partitions, shares)
        allocation, clearly_feasible = self._unconstrained(partitions, shares)
        if clearly_feasible or self.meets_constraints(allocation):
            return allocation, True
        constrained = self._constrained(partitions, shares)
        return (allocation, False) if constrained is None else (constrained, True)

    def best_unconstrained(self, partitions: NDArray[np.int64]) -> Allocation:
        """The best of these assignments with C6/C7 ignored (the first step of :meth:`fill`).

        :param partitions: satellite labels in ``[0, M)``, shape ``(K, N)``
        :return: the allocation
        """
        shares = self._share_problem(partitions)
        if self.config.energy_model == "eq14" and self.config.train_aggregation == "sum":
            return self._eq14_sum(partitions, shares)[0]
        return self._unconstrained(partitions, shares)[0]

    def meets_constraints(self, allocation: Allocation) -> bool:
        """Whether the allocation, scored with the ε of eq 7, meets C6 and C7."""
        terms = allocation_cost(self.config, self.data_mb, allocation, self.mu)
        return bool(terms["C6_ok"] and terms["C7_ok"])

    def _unconstrained(self, partitions: NDArray[np.int64], shares: _ShareSolution) -> tuple[Allocation, bool]:
        """Best channels plus best partition at its stationary time level, and whether it meets C6/C7 by more than
        :data:`CAP_MARGIN` (the caps of :meth:`_constrained`; closer calls are left to :meth:`meets_constraints`)."""
        config, weights = self.config, self.weights
        levels = _best_level(shares.time_floor, shares.energy_scale, weights, np.inf)
        partition_cost = weights.delay * (shares.inter_delay + levels) + weights.energy * shares.energy_scale / levels**2
        best = int(np.argmin(partition_cost))
        rest = self.bottleneck[self._best_channel] + shares.inter_delay[best] + weights.fixed_delay
        energy_room = weights.uav_energy_cap - config.uav_tx_power * self.upload_sum[self._best_channel]
        cap = min(weights.delay_cap - rest, energy_room / (config.n_uavs * config.hover_power) - rest)
        clearly_feasible = bool(levels[best] <= cap - CAP_MARGIN * weights.delay_cap)
        return self._allocation(self.best_channels, partitions[best], levels[best]), clearly_feasible

    def _share_problem(self, partitions: NDArray[np.int64]) -> _ShareSolution:
        config, cycles = self.config, self.cycles
        frequency = config.cpu_frequency
        group_cycles, root_sum, group_size = satellite_sums(partitions, self._summed_per_uav, config.n_satellites)  # (P, M)
        most_loaded = group_size.max(axis=-1)  # max_j N_j
        if config.train_aggregation == "sum":
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
                scale = np.full(len(partitions), config.capacitance * (cycles**3).sum())
        return _ShareSolution(floor_per_group.max(axis=-1), scale, self.weights.per_uav_inter * most_loaded)

    def _allocation(self, channels: NDArray[np.int64], labels: NDArray[np.int64], level: float) -> Allocation:
        config, cycles = self.config, self.cycles
        on_satellite = on_satellites(labels[None, :], config.n_satellites)[0]
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

    def _constrained(self, partitions: NDArray[np.int64], shares: _ShareSolution) -> Allocation | None:
        """Joint search over Pareto-efficient channels × partitions with τ capped by C6/C7."""
        config, weights = self.config, self.weights
        bottleneck, upload_sum = self.bottleneck[self.efficient], self.upload_sum[self.efficient]
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
        return self._allocation(self.channels[self.efficient[k]], partitions[p], float(levels[k, p]))

    def _eq14_sum(self, partitions: NDArray[np.int64], shares: _ShareSolution) -> tuple[Allocation, bool]:
        """``"eq14"`` with summed eq 7: prune partitions by the lower bound, solve the rest exactly, in batches."""
        weights = self.weights
        levels = _best_level(shares.time_floor, shares.energy_scale, weights, np.inf)
        bound = weights.delay * (shares.inter_delay + levels) + weights.energy * shares.energy_scale / levels**2
        order = np.argsort(bound, kind="stable")
        best_cost, best = np.inf, None
        for start in range(0, order.size, EQ14_BATCH):
            chosen = order[start : start + EQ14_BATCH]
            chosen = chosen[bound[chosen] < best_cost * (1.0 - 1e-12)]
            if chosen.size == 0:
                break
            on_satellite = on_satellites(partitions[chosen], self.config.n_satellites)
            cost, cpu_share = eq14_sum_shares(self, on_satellite, shares.inter_delay[chosen])
            index = int(np.argmin(cost))
            if cost[index] < best_cost:
                best_cost = float(cost[index])
                best = Allocation(self.best_channels, partitions[chosen[index]].astype(np.int64), cpu_share[index])
        assert best is not None  # the lowest bound is always solved
        return best, self.meets_constraints(best)


class Oracle:
    """The exact solver of problem (17) as an evaluation method (see the module docstring).

    Up to :data:`ENUMERATION_LIMIT` partitions :meth:`allocate` enumerates them all; beyond, it returns the
    allocation of :meth:`solve` with ``time_limit`` (branch and bound, faster there; same C6/C7 semantics). It
    is then the optimum (to a relative 1e-9; between tied optima it may pick another than the enumeration)
    whenever ``last_solution.proved_optimal`` (measured: every state at N = 16, M = 3..8 within 1.3 s), and
    otherwise the best allocation found, never worse than ``"twin-descent"`` from the equal split, with a
    certified lower bound in ``last_solution.lower_bound``.

    :param config: system parameters (both energy models and both training aggregations are supported)
    :param name: label in tables
    :param partitions: restrict :meth:`allocate` to these satellite assignments, shape ``(K, N)`` with labels in
        ``[0, M)``; channels and CPU shares are still exact for each. ``None`` (default) searches every
        partition, which is the exact optimum of problem (17). :meth:`solve` always searches every one.
    :param time_limit: seconds per state of :meth:`allocate` beyond the enumeration (``None``: until proved,
        which can take very long beyond N ≈ 20)
    """

    def __init__(
        self,
        config: SatGroundConfig,
        name: str = "oracle",
        partitions: NDArray[np.int64] | None = None,
        *,
        time_limit: float | None = ALLOCATE_TIME_LIMIT,
    ) -> None:
        self.config = config
        self.name = name
        self.partitions = partitions
        self.time_limit = time_limit
        self.last_feasible = True
        #: The :meth:`solve` result behind the last :meth:`allocate` beyond the enumeration (else ``None``).
        self.last_solution: Solution | None = None

    @property
    def enumerates(self) -> bool:
        """Whether :meth:`allocate` enumerates assignments (given ones, or every partition up to the limit)."""
        count = partition_count(self.config.n_uavs, self.config.n_satellites)
        return self.partitions is not None or count <= ENUMERATION_LIMIT

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """The optimal allocation for one state (C6/C7 honoured when any allocation meets them)."""
        config = self.config
        if not self.enumerates:
            self.last_solution = self.solve(data_mb, mu, time_limit=self.time_limit)
            self.last_feasible = self.last_solution.feasible
            return self.last_solution.allocation
        if self.partitions is None:
            self.partitions = set_partitions(config.n_uavs, config.n_satellites)
        allocation, self.last_feasible = StateProblem(config, data_mb, mu).fill(self.partitions)
        return allocation

    def solve(
        self, data_mb: NDArray[np.float64], mu: float, *, time_limit: float | None = None, node_limit: int | None = None
    ) -> Solution:
        """The optimum of problem (17) by branch and bound over assignments, at any N (``partitions`` is ignored).

        :param data_mb: D_i (MB), shape ``(N,)``
        :param mu: μ ∈ [0, 1]
        :param time_limit: stop after about this many seconds (``None``: no limit)
        :param node_limit: stop after bounding this many nodes (``None``: no limit)
        :return: the best allocation found, its objective, a certified lower bound and whether it is proved optimal
        """
        from sb3_ccddpg.solvers.branch_and_bound import solve  # here: branch_and_bound imports this module

        return solve(StateProblem(self.config, data_mb, mu), time_limit=time_limit, node_limit=node_limit)


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
    """Points not dominated in (first, second), both to be minimised (the first of equal points is kept)."""
    order = np.lexsort((second, first))
    ordered = second[order]
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(ordered)[:-1]])
    efficient = np.zeros(first.size, dtype=bool)
    efficient[order] = ordered < best_before
    return efficient


def eq14_sum_shares(
    problem: StateProblem, on_satellite: NDArray[np.float64], inter_delay: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact shares of partitions for ``"eq14"``/``"sum"`` from the KKT conditions (step 4 of the module docstring).

    With ``k_i = cycles_i/f`` and ``C = c·α f³`` the share problem of a partition is
    ``min a·τ + C Σ_i k_i ρ_i²`` s.t. ``Σ_{i∈j} k_i/ρ_i ≤ τ`` and ``Σ_{i∈j} ρ_i ≤ 1`` per satellite. Stationarity
    in ρ_i (multipliers λ_j, ν_j) is ``2ρ_i³ + (ν_j/k_i)ρ_i² = λ_j``: with ``ρ_i = λ_j^(1/3)·y_i`` and
    ``θ_j = ν_j/λ_j^(1/3)``, y_i is the positive root of ``2y³ + (θ_j/k_i)y² = 1``. A satellite whose cap is
    slack (``τ ≥ n_j K_j``) has equal shares ``K_j/τ`` and ``λ_j = 2K_j³/τ³``; otherwise ``ρ = y/Σy``, its
    time ``(Σy)(Σ k/y)`` falls from ``n_j K_j`` (θ = 0) to ``r_j²`` (θ → ∞, shares ∝ √k) and fixes θ_j, and
    ``λ_j = (Σy)^(−3) = −dE_j/dτ``. The time level solves ``a = C Σ_j λ_j(τ)``: ``τ = (2C Σ_j K_j³/a)^(1/3)``
    when that leaves every cap slack, else a root in ``[max_j r_j², max_j n_j K_j]`` (bisection on log τ;
    θ_j by safeguarded Newton on log θ, y by Newton). The result is scored exactly: τ is the largest
    satellite time of the shares found, so errors of the 1-D solves only cost optimality to second order.

    :param problem: the state
    :param on_satellite: φ of each partition, shape ``(P, M, N)``
    :param inter_delay: their T_inter without the fixed block part (s), shape ``(P,)``
    :return: ``a·(T_inter + τ) + c·Σ_j E_cmp_j`` (channel part and constants excluded), shape ``(P,)``, and ρ,
        shape ``(P, M, N)``
    """
    config, weights = problem.config, problem.weights
    work = problem.cycles / config.cpu_frequency  # k_i (s)
    energy = weights.energy * config.capacitance * config.cpu_frequency**3  # C
    group_work = on_satellite @ work  # K_j
    group_root = on_satellite @ np.sqrt(work)  # r_j
    capped_below = on_satellite.sum(axis=-1) * group_work  # n_j K_j: the cap binds below this time level
    if energy > 0:
        uncapped = np.cbrt(2.0 * energy * (group_work**3).sum(axis=-1) / weights.delay)
        low, high = np.log((group_root**2).max(axis=-1)), np.log(np.maximum(capped_below.max(axis=-1), 1e-300))
        theta = np.where(group_work > 0, group_work, 1.0)
        for _ in range(_TIME_STEPS):
            middle = 0.5 * (low + high)
            theta, multiplier = _eq14_multipliers(work, on_satellite, group_work, capped_below, np.exp(middle), theta)
            later = energy * multiplier.sum(axis=-1) > weights.delay  # the objective still falls: τ* is above
            low, high = np.where(later, middle, low), np.where(later, high, middle)
        level = np.where(uncapped >= capped_below.max(axis=-1), uncapped, np.exp(0.5 * (low + high)))
        theta, _ = _eq14_multipliers(work, on_satellite, group_work, capped_below, level, theta)
        root = _eq14_roots(work, on_satellite, theta)
        share = root / np.einsum("pmn,pm->pn", on_satellite, (on_satellite @ root[..., None])[..., 0])
        slack = np.einsum("pmn,pm->pn", on_satellite, (capped_below <= level[:, None]).astype(np.float64)) > 0
        share = np.where(slack, np.einsum("pmn,pm->pn", on_satellite, group_work) / level[:, None], share)
    else:  # μ = 0: only time counts, every satellite at its floor with shares ∝ √k
        share = np.sqrt(work) / np.einsum("pmn,pm->pn", on_satellite, group_root)
    cpu_share = on_satellite * share[:, None, :]
    cpu_share = cpu_share / np.maximum(cpu_share.sum(axis=-1, keepdims=True), 1.0)
    own = cpu_share.sum(axis=1)
    level = (on_satellite @ (work[None, :] / own)[..., None])[..., 0].max(axis=-1)
    cost = weights.delay * (inter_delay + level) + energy * (work * own**2).sum(axis=-1)
    return cost, cpu_share


#: Iterations of :func:`eq14_sum_shares`: bisection on log τ, safeguarded Newton on log θ_j (at most; it stops
#: once every satellite time is within 1e-13 of the level), Newton on y_i.
_TIME_STEPS, _THETA_STEPS, _ROOT_STEPS = 30, 60, 5


def _eq14_roots(
    work: NDArray[np.float64], on_satellite: NDArray[np.float64], theta: NDArray[np.float64]
) -> NDArray[np.float64]:
    """y_i > 0 with ``2y³ + (θ_{a(i)}/k_i)y² = 1``, shape ``(P, N)`` (Newton from an upper bound: convex, monotone)."""
    ratio = np.einsum("pmn,pm->pn", on_satellite, theta) / work
    root = np.minimum(0.5 ** (1.0 / 3.0), 1.0 / np.sqrt(np.maximum(ratio, 1e-300)))
    for _ in range(_ROOT_STEPS):
        root = root - (2.0 * root**3 + ratio * root**2 - 1.0) / (6.0 * root**2 + 2.0 * ratio * root)
    return root


def _eq14_multipliers(
    work: NDArray[np.float64],
    on_satellite: NDArray[np.float64],
    group_work: NDArray[np.float64],
    capped_below: NDArray[np.float64],
    level: NDArray[np.float64],
    theta: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """θ_j with satellite time ``level`` where the cap binds (from ``theta``), and λ_j = −dE_j/dτ, both ``(P, M)``."""
    log_theta = np.log(theta)
    low, high = np.full_like(theta, np.log(1e-12 * work.min())), np.full_like(theta, np.log(1e12 * work.max()))
    target = level[:, None]
    capped = (capped_below > target) & (group_work > 0)
    for _ in range(_THETA_STEPS):
        theta = np.exp(log_theta)
        root = _eq14_roots(work, on_satellite, theta)
        slope = -root / (6.0 * work * root + 2.0 * np.einsum("pmn,pm->pn", on_satellite, theta))  # dy/dθ
        total, inverse = (on_satellite @ root[..., None])[..., 0], (on_satellite @ (work / root)[..., None])[..., 0]
        time = total * inverse  # decreasing in θ
        if np.all(np.abs(time - target)[capped] <= 1e-13 * np.broadcast_to(target, time.shape)[capped]):
            break
        d_time = (on_satellite @ slope[..., None])[..., 0] * inverse - total * (
            on_satellite @ (work * slope / root**2)[..., None]
        )[..., 0]
        low = np.where(time > target, log_theta, low)
        high = np.where(time > target, high, log_theta)
        step = np.log(np.maximum(theta - (time - target) / np.minimum(d_time, -1e-300), 1e-300))  # Newton in θ
        log_theta = np.where((step > low) & (step < high), step, 0.5 * (low + high))
    theta = np.exp(log_theta)
    total = (on_satellite @ _eq14_roots(work, on_satellite, theta)[..., None])[..., 0]
    multiplier = np.where(capped, np.maximum(total, 1e-100) ** -3.0, 2.0 * group_work**3 / target**3)
    return theta, np.where(group_work > 0, multiplier, 0.0)

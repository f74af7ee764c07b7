"""Branch and bound over satellite assignments: problem (17) solved exactly, or bounded, at any N.

The channel part is solved once per state (:class:`~sb3_ccddpg.solvers.oracle.StateProblem`). The search runs
over the assignment of the UAVs, sorted by decreasing data size, to unlabelled satellites: the next UAV joins
an open satellite or opens label ``1 + max(labels so far)`` (restricted growth: the identical satellites'
symmetry is broken, every partition is one leaf). Nodes are bounded in batches (one NumPy call per batch of
siblings' children) and explored depth first, the batch of lowest bounds first. The incumbent is
``"twin-descent"`` from the equal split's assignment. A node is pruned when its bound is within a relative
:data:`TOLERANCE` of the incumbent, so "proved optimal" means optimal to that tolerance.

**Node bound.** Write ``k_i = cycles_i/f`` (s) and ``s_i = √k_i``; for the UAVs fixed at a node, per satellite
j, ``r_j = Σ s_i``, ``K_j = Σ k_i`` and the count ``n_j``; U are the free UAVs. For a partition the assignment
part of the objective is ``a·(T_inter + τ) + c·S/τ²`` minimised over ``τ ≥ floor`` (module docstring of
:mod:`~sb3_ccddpg.solvers.oracle`), with ``floor = max_j r_j²`` (summed eq 7) or ``max_j K_j`` (max), and
``S/(α f³) = Σ_j K_j r_j⁴`` (eq15/sum), ``Σ_j K_j³`` (eq15/max; a lower bound for eq14/sum: equal shares with
the cap dropped) or ``Σ_i k_i³`` (eq14/max). Its minimum over τ increases with ``floor``, ``S`` and
``T_inter = per-UAV delay · max_j N_j``, so the value at lower bounds of all three bounds every completion:

- ``max_j N_j ≥ max(max_j n_j, ⌈N/M⌉)``;
- the largest final group total (of s or k) is at least the largest fixed one, the water level of the free
  mass spread fractionally over the groups (``min_q (free + Σ_{j ≤ q} total_(j))/q``, totals ascending) and
  the smallest group plus the largest free UAV;
- ``Σ_j K_j³``: its fractional minimum (water-filling ``K``) is exact for a convex separable sum;
- ``Σ_j K_j r_j⁴ = Σ_j K⁰_j r_j⁴ + Σ_{i ∈ U} k_i r_{a(i)}⁴``: the first sum is at least its fractional
  minimum over the free ``s`` mass (convex: a water level in ``u`` with ``r_j = max(r⁰_j, u·K⁰_j^(−1/3))``;
  zero growth cost once a satellite is still empty), the second at least ``Σ_{i ∈ U} k_i (min_j r⁰_j + s_i)⁴``;
  and (the bound that prunes) with Δ_j the free s mass joining j, Cauchy–Schwarz on the free UAVs gives
  ``Σ_j K_j r_j⁴ ≥ min_Δ Σ_j K⁰_j (r⁰_j + Δ_j)⁴ + (Σ_j Δ_j (r⁰_j + Δ_j)²)²/|U|`` (convex in Δ; a few Newton
  steps, certified by the Frank–Wolfe bound at the last iterate: :func:`_spread_energy`);
- every partition also has ``floor ≥ max(R/M, max_i s_i)²`` (R = Σ_i s_i) and
  ``Σ_j K_j r_j⁴ ≥ R⁶/(M⁴ N)`` (Cauchy–Schwarz ``K_j ≥ r_j²/N_j``, then convexity of ``r⁶/n``), resp.
  ``max(W/M, max_i k_i)`` and ``W³/M²`` with ``W = Σ_i k_i``: the closed-form bound of
  ``docs/design/scale-and-amortisation.md`` §2, the value at the root before the first branching.

At a leaf these are the partition's exact value (except eq14/sum, whose leaves are solved by
:func:`~sb3_ccddpg.solvers.oracle.eq14_sum_shares` in the order of their bounds). C6/C7: the bound of a node is
the minimum over the Pareto-efficient channel candidates of the same expression with τ capped by C6/C7 at
the lower-bounded T_inter (``+∞`` where the cap is below the floor): a completion's feasible τ interval is
contained in it. eq14/sum is solved without C6/C7 (as the enumeration oracle does).

**What the bound certifies.** :func:`solve` returns the value the enumeration oracle would return: the optimum
under C6/C7 when some allocation meets them, else the unconstrained optimum (reported infeasible). The
unconstrained search's bound is below both, so it is always valid; the constrained search's bound is used
only once a feasible leaf proves the constrained problem feasible. Like the oracle's search it neglects the
ε of eq 7; scoring with ε shortens a train time by the relative ε/(ρ_i + ε), and the reported bound is lowered
by the relative :data:`EPSILON_MARGIN` to cover it (shares ρ_i ≥ 1e-3).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sb3_ccddpg.solvers.oracle import EQ14_BATCH, StateProblem, eq14_sum_shares, on_satellites
from sb3_ccddpg.solvers.search import DESCENT_ROUNDS, descend
from sb3_ccddpg_envs import Allocation, allocation_cost

#: Nodes expanded together: their children are bounded in one NumPy call.
BATCH = 2048
#: Relative tolerance of pruning: a node whose bound is within it of the incumbent is not explored further.
TOLERANCE = 1e-9
#: Relative margin the reported lower bound is lowered by, for the ε of eq 7 that the search neglects.
EPSILON_MARGIN = 1e-6


@dataclass(frozen=True)
class Solution:
    """Result of :func:`solve` for one state.

    :param allocation: the best allocation found (the optimum when ``proved_optimal``)
    :param objective: its objective (eq 17, scored with the ε of eq 7)
    :param lower_bound: certified lower bound on the optimum (the value the enumeration oracle returns)
    :param proved_optimal: whether the search finished (no limit stopped it): ``objective`` is then optimal to
        the relative :data:`TOLERANCE` (and the ε of eq 7)
    :param feasible: whether ``allocation`` meets C6/C7 (``False``: no allocation does, or none was found
        before a limit stopped the search)
    :param nodes: nodes bounded
    :param seconds: wall time, incumbent included (s)
    """

    allocation: Allocation
    objective: float
    lower_bound: float
    proved_optimal: bool
    feasible: bool
    nodes: int
    seconds: float


@dataclass(frozen=True)
class _Nodes:
    """A batch of nodes at one depth: the first ``depth`` UAVs (in the search order) assigned."""

    labels: NDArray[np.int64]  # (B, depth) satellite labels, restricted growth
    root: NDArray[np.float64]  # (B, M) r_j = Σ √k_i per satellite (√s)
    work: NDArray[np.float64]  # (B, M) K_j = Σ k_i (s)
    count: NDArray[np.int64]  # (B, M) n_j

    def __getitem__(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> _Nodes:
        return _Nodes(self.labels[index], self.root[index], self.work[index], self.count[index])

    def __len__(self) -> int:
        return len(self.labels)

    def children(self, root: float, work: float) -> _Nodes:
        """Every restricted-growth child: the next UAV (√k = ``root``, k = ``work``) on an open or the next satellite."""
        n_satellites = self.root.shape[1]
        opened = self.count.astype(bool).sum(axis=1)
        parent, label = np.nonzero(np.arange(n_satellites) <= opened[:, None])
        rows = np.arange(parent.size)
        child_root, child_work, child_count = self.root[parent], self.work[parent], self.count[parent]
        child_root[rows, label] += root
        child_work[rows, label] += work
        child_count[rows, label] += 1
        return _Nodes(np.column_stack([self.labels[parent], label]), child_root, child_work, child_count)


class _Bounder:
    """Per-state constants of the node bound (module docstring), in the search order of the UAVs."""

    def __init__(self, problem: StateProblem) -> None:
        config = problem.config
        self.problem = problem
        self.order = np.argsort(-problem.cycles, kind="stable")  # decreasing data size
        self.work = problem.cycles[self.order] / config.cpu_frequency  # k_i (s)
        self.root = np.sqrt(self.work)  # s_i (√s)
        self.n_uavs, self.n_satellites = config.n_uavs, config.n_satellites
        self.summed = config.train_aggregation == "sum"
        self.model = (config.energy_model, config.train_aggregation)
        self.energy_unit = config.capacitance * config.cpu_frequency**3  # α f³ (W)
        # Suffix sums over the free UAVs: entry d is Σ_{i ≥ d}; entry N is 0.
        self.free_root = _suffix(self.root)
        self.free_work = _suffix(self.work)
        self.free_moments = np.stack([_suffix(self.work * self.root**p) for p in range(5)])  # Σ k_i s_i^p
        self.largest_root, self.largest_work = np.append(self.root, 0.0), np.append(self.work, 0.0)
        self.least_most_loaded = math.ceil(self.n_uavs / self.n_satellites)
        total_root, total_work, m = self.root.sum(), self.work.sum(), self.n_satellites
        if self.summed:
            self.any_floor = max(total_root / m, self.root.max()) ** 2
        else:
            self.any_floor = max(total_work / m, self.work.max())
        if self.model == ("eq15", "sum"):
            self.any_scale = self.energy_unit * total_root**6 / (m**4 * self.n_uavs)
        elif self.model == ("eq14", "max"):
            self.any_scale = self.energy_unit * float((self.work**3).sum())
        else:
            self.any_scale = self.energy_unit * total_work**3 / m**2
        weights = problem.weights
        self.unconstrained_constant = float(problem.channel_cost.min()) + weights.delay * weights.fixed_delay

    def root_nodes(self) -> _Nodes:
        """The root: the largest UAV on satellite 0 (every partition has it in some block)."""
        m = self.n_satellites
        first = np.arange(m) == 0
        return _Nodes(
            np.zeros((1, 1), dtype=np.int64),
            (self.root[0] * first)[None],
            (self.work[0] * first)[None],
            first[None].astype(np.int64),
        )

    def at(self, labels: NDArray[np.int64]) -> _Nodes:
        """Full assignments (search order), shape ``(B, N)``, as leaves."""
        on = (labels[..., None] == np.arange(self.n_satellites)).astype(np.float64)  # (B, N, M)
        count = on.sum(axis=1).astype(np.int64)
        return _Nodes(labels, np.einsum("bnm,n->bm", on, self.root), np.einsum("bnm,n->bm", on, self.work), count)

    def bound(self, nodes: _Nodes, constrained: bool, threshold: float = np.inf) -> NDArray[np.float64]:
        """Lower bound on the objective of every completion of each node (exact at leaves but eq14/sum).

        :param threshold: eq15/sum: the Cauchy–Schwarz energy bound (the costly part) is only computed for nodes
            whose other bounds are below this (the others are pruned by them anyway)
        """
        depth = nodes.labels.shape[1]
        if self.summed:
            floor = _largest_total(nodes.root, float(self.free_root[depth]), float(self.largest_root[depth])) ** 2
        else:
            floor = _largest_total(nodes.work, float(self.free_work[depth]), float(self.largest_work[depth]))
        floor = np.maximum(floor, self.any_floor)
        if self.model == ("eq15", "sum"):
            least = nodes.root.min(axis=1)
            moments = self.free_moments[:, depth]
            free = moments[4] + least * (
                4 * moments[3] + least * (6 * moments[2] + least * (4 * moments[1] + least * moments[0]))
            )
            scale = self.energy_unit * (_fixed_energy(nodes.root, nodes.work, float(self.free_root[depth])) + free)
        elif self.model == ("eq14", "max"):
            scale = np.zeros(len(nodes))
        else:
            level = _water_level(nodes.work, float(self.free_work[depth]))
            scale = self.energy_unit * (np.maximum(nodes.work, level[:, None]) ** 3).sum(axis=1)
        scale = np.maximum(scale, self.any_scale)
        inter = self.problem.weights.per_uav_inter * np.maximum(nodes.count.max(axis=1), self.least_most_loaded)
        value = self._value(floor, scale, inter, constrained)
        if self.model == ("eq15", "sum") and depth < self.n_uavs:
            open_ = np.flatnonzero(value < threshold)
            spread = _spread_energy(nodes.root[open_], nodes.work[open_], float(self.free_root[depth]), self.n_uavs - depth)
            scale = np.maximum(scale[open_], self.energy_unit * spread)
            value[open_] = self._value(floor[open_], scale, inter[open_], constrained)
        return value

    def _value(
        self, floor: NDArray[np.float64], scale: NDArray[np.float64], inter: NDArray[np.float64], constrained: bool
    ) -> NDArray[np.float64]:
        problem, weights = self.problem, self.problem.weights
        stationary = np.cbrt(2.0 * weights.energy * scale / weights.delay) if weights.energy > 0 else np.zeros_like(scale)
        if not constrained:
            level = np.maximum(stationary, floor)
            return self.unconstrained_constant + weights.delay * (inter + level) + weights.energy * scale / level**2
        config, efficient = problem.config, problem.efficient
        rest = problem.bottleneck[efficient] + inter[:, None] + weights.fixed_delay  # (B, K)
        cap = np.minimum(
            weights.delay_cap - rest,
            (weights.uav_energy_cap - config.uav_tx_power * problem.upload_sum[efficient])
            / (config.n_uavs * config.hover_power)
            - rest,
        )
        level = np.maximum(np.minimum(stationary[:, None], cap), floor[:, None])
        value = (
            problem.channel_cost[efficient]
            + weights.delay * (weights.fixed_delay + inter[:, None] + level)
            + weights.energy * scale[:, None] / level**2
        )
        return np.where(cap >= floor[:, None], value, np.inf).min(axis=1)

    def exact(self, labels: NDArray[np.int64], constrained: bool) -> NDArray[np.float64]:
        """The values of full assignments (search order), shape ``(B, N)`` → ``(B,)``."""
        if self.model != ("eq14", "sum"):
            return self.bound(self.at(labels), constrained)
        association = np.empty_like(labels)
        association[:, self.order] = labels
        on_satellite = on_satellites(association, self.n_satellites)
        inter = self.problem.weights.per_uav_inter * on_satellite.sum(axis=-1).max(axis=-1)
        cost, _ = eq14_sum_shares(self.problem, on_satellite, inter)
        return self.unconstrained_constant + cost

    def association(self, labels: NDArray[np.int64]) -> NDArray[np.int64]:
        """Labels in the search order → φ in the UAVs' own order."""
        association = np.empty_like(labels)
        association[self.order] = labels
        return association


@dataclass(frozen=True)
class _Outcome:
    value: float  # best leaf value found (inf: none, constrained)
    labels: NDArray[np.int64] | None  # its assignment in the search order
    lower_bound: float
    exhausted: bool
    nodes: int


def _search(
    bounder: _Bounder, constrained: bool, value: float, labels: NDArray[np.int64] | None, deadline: float, node_budget: float
) -> _Outcome:
    """Depth-first branch and bound from the incumbent (``value``, ``labels``)."""
    n_uavs = bounder.n_uavs
    nodes = 1
    root = bounder.root_nodes()
    stack = [(root, bounder.bound(root, constrained))]
    closed = np.inf  # smallest bound of a node pruned, or value of a leaf evaluated
    while stack and nodes < node_budget and time.perf_counter() < deadline:
        batch, bound = stack.pop()
        keep = bound < value - TOLERANCE * abs(value)
        closed = min(closed, float(bound[~keep].min(initial=np.inf)))
        if not keep.any():
            continue
        batch = batch[keep]
        depth = batch.labels.shape[1]
        if depth == n_uavs:  # only when N = 1: the root is a leaf
            children, child_bound = batch, bound[keep]
        else:
            children = batch.children(float(bounder.root[depth]), float(bounder.work[depth]))
            child_bound = bounder.bound(children, constrained, value - TOLERANCE * abs(value))
            nodes += len(children)
        if children.labels.shape[1] == n_uavs:
            value, labels, closed = _leaves(bounder, children, child_bound, constrained, value, labels, closed)
            continue
        keep = child_bound < value - TOLERANCE * abs(value)
        closed = min(closed, float(child_bound[~keep].min(initial=np.inf)))
        order = np.flatnonzero(keep)[np.argsort(-child_bound[keep], kind="stable")]  # worst first: best on top
        for start in range(0, order.size, BATCH):
            chosen = order[start : start + BATCH]
            stack.append((children[chosen], child_bound[chosen]))
    open_bound = min((float(bound.min()) for _, bound in stack), default=np.inf)
    return _Outcome(value, labels, min(value, closed, open_bound), not stack, nodes)


def _leaves(
    bounder: _Bounder,
    leaves: _Nodes,
    bound: NDArray[np.float64],
    constrained: bool,
    value: float,
    labels: NDArray[np.int64] | None,
    closed: float,
) -> tuple[float, NDArray[np.int64] | None, float]:
    """Update the incumbent with a batch of leaves (exact values, or bounds then exact solves for eq14/sum)."""
    if bounder.model != ("eq14", "sum"):
        best = int(np.argmin(bound))
        if bound[best] < value:
            value, labels = float(bound[best]), leaves.labels[best]
        return value, labels, min(closed, float(bound[best]))
    order = np.argsort(bound, kind="stable")
    for start in range(0, order.size, EQ14_BATCH):
        chosen = order[start : start + EQ14_BATCH]
        open_ = bound[chosen] < value - TOLERANCE * abs(value)
        closed = min(closed, float(bound[chosen][~open_].min(initial=np.inf)))
        if not open_.any():
            break
        chosen = chosen[open_]
        exact = bounder.exact(leaves.labels[chosen], constrained)
        best = int(np.argmin(exact))
        closed = min(closed, float(exact[best]))
        if exact[best] < value:
            value, labels = float(exact[best]), leaves.labels[chosen[best]]
    return value, labels, closed


def solve(problem: StateProblem, *, time_limit: float | None = None, node_limit: int | None = None) -> Solution:
    """Branch and bound for one state (module docstring): the optimum, or the best found and a certified bound.

    :param problem: the state, its channel part solved
    :param time_limit: stop after about this many seconds, incumbent included (``None``: no limit); checked
        between batches, so a batch may finish after it
    :param node_limit: stop once this many nodes are bounded (``None``: no limit); checked between batches
    :return: the solution; ``proved_optimal`` is ``False`` when a limit stopped the search
    """
    start = time.perf_counter()
    deadline = math.inf if time_limit is None else start + time_limit
    budget = math.inf if node_limit is None else node_limit
    config = problem.config
    bounder = _Bounder(problem)
    seed = descend(problem, np.arange(config.n_uavs) % config.n_satellites, DESCENT_ROUNDS)
    seed_labels = seed.association[bounder.order]
    free = _search(bounder, False, float(bounder.exact(seed_labels[None], False)[0]), seed_labels, deadline, budget)
    assert free.labels is not None  # the incumbent is a leaf
    nodes = free.nodes
    association = bounder.association(free.labels)[None]
    allocation = problem.best_unconstrained(association)
    feasible = problem.meets_constraints(allocation)
    lower_bound, proved = free.lower_bound, free.exhausted
    if not feasible and bounder.model != ("eq14", "sum"):
        incumbent = min(
            ((float(bounder.exact(candidate[None], True)[0]), candidate) for candidate in (seed_labels, free.labels)),
            key=lambda pair: pair[0],
        )
        capped = _search(bounder, True, *incumbent, deadline, budget - nodes)
        nodes += capped.nodes
        if capped.labels is not None and math.isfinite(capped.value):  # C6/C7 can be met: their optimum
            allocation, feasible = problem.fill(bounder.association(capped.labels)[None])
            lower_bound, proved = capped.lower_bound, capped.exhausted
        elif not capped.exhausted:  # unknown whether C6/C7 can be met: a bound for either case
            lower_bound, proved = min(free.lower_bound, capped.lower_bound), False
    objective = float(allocation_cost(config, problem.data_mb, allocation, problem.mu)["objective"])
    return Solution(
        allocation=allocation,
        objective=objective,
        lower_bound=lower_bound * (1.0 - EPSILON_MARGIN),
        proved_optimal=proved,
        feasible=feasible,
        nodes=nodes,
        seconds=time.perf_counter() - start,
    )


def _suffix(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """``out[d] = Σ_{i ≥ d} values[i]``, shape ``(N + 1,)`` (``out[N] = 0``)."""
    return np.append(np.cumsum(values[::-1])[::-1], 0.0)


def _water_level(totals: NDArray[np.float64], free: float) -> NDArray[np.float64]:
    """Level reached when ``free`` is poured fractionally onto the lowest of ``totals`` ``(B, M)``: ``(B,)``."""
    ordered = np.sort(totals, axis=1)
    return ((free + np.cumsum(ordered, axis=1)) / np.arange(1, totals.shape[1] + 1)).min(axis=1)


def _largest_total(totals: NDArray[np.float64], free: float, largest_free: float) -> NDArray[np.float64]:
    """Lower bound on the largest group total of any completion (module docstring)."""
    return np.maximum.reduce([totals.max(axis=1), _water_level(totals, free), totals.min(axis=1) + largest_free])


def _fixed_energy(root: NDArray[np.float64], work: NDArray[np.float64], free: float) -> NDArray[np.float64]:
    """``min Σ_j K_j (r_j + Δ_j)⁴`` over ``Δ ≥ 0`` with ``Σ Δ_j = free``, shape ``(B,)`` (0 growth cost if a ``K_j`` is 0)."""
    empty = np.asarray((work <= 0).any(axis=1))
    spread = np.where(work > 0, work, 1.0) ** (-1.0 / 3.0)  # r_j = max(r⁰_j, u·spread_j) at the optimum
    order = np.argsort(root / spread, axis=1)
    ordered_root, ordered_spread = np.take_along_axis(root, order, 1), np.take_along_axis(spread, order, 1)
    level = ((free + np.cumsum(ordered_root, axis=1)) / np.cumsum(ordered_spread, axis=1)).min(axis=1)
    grown = np.where(empty[:, None], root, np.maximum(root, level[:, None] * spread))
    return (work * grown**4).sum(axis=1)


#: Newton steps of :func:`_spread_energy` (each iterate gives a valid bound; more only tighten it).
SPREAD_STEPS = 3


def _spread_energy(root: NDArray[np.float64], work: NDArray[np.float64], free: float, free_count: int) -> NDArray[np.float64]:
    """Lower bound on ``Σ_j K_j r_j⁴`` of every completion, shape ``(B,)``, from Cauchy–Schwarz on the free UAVs.

    The free UAVs that join satellite j add ``Δ_j`` to ``r_j`` and at least ``Δ_j²/m_j`` to ``K_j`` (m_j of them),
    and ``Σ_j Δ_j² r_j⁴/m_j ≥ (Σ_j Δ_j r_j²)²/Σ_j m_j``. So the sum is at least the minimum of the convex
    ``F(Δ) = Σ_j K⁰_j (r⁰_j + Δ_j)⁴ + (Σ_j Δ_j (r⁰_j + Δ_j)²)²/n_free`` over ``Δ ≥ 0``, ``Σ_j Δ_j = free``.
    Newton steps on the face of the positive Δ_j (Hessian diagonal plus rank one: Sherman–Morrison) from the
    water-filling of r; at every iterate the Frank–Wolfe bound ``F(Δ) + free·min_j ∂_jF − ∇F·Δ`` is valid.
    """
    if free_count == 0:
        return (work * root**4).sum(axis=1)
    level = _water_level(root, free)
    spread = np.maximum(level[:, None] - root, 0.0)  # Δ, feasible
    best = np.full(len(root), -np.inf)
    for step in range(SPREAD_STEPS + 1):
        grown = root + spread
        total = (spread * grown**2).sum(axis=1)  # G
        value = (work * grown**4).sum(axis=1) + total**2 / free_count
        marginal = grown**2 + 2.0 * spread * grown  # ∂G/∂Δ_j
        gradient = 4.0 * work * grown**3 + (2.0 * total / free_count)[:, None] * marginal
        best = np.maximum(best, value + free * gradient.min(axis=1) - (gradient * spread).sum(axis=1))
        if step == SPREAD_STEPS:
            break
        active = spread > 0
        diagonal = 12.0 * work * grown**2 + (2.0 * total / free_count)[:, None] * (4.0 * grown + 2.0 * spread)
        diagonal = np.where(active, np.maximum(diagonal, 1e-300), 1.0)
        rank_one = np.where(active, marginal * np.sqrt(2.0 / free_count), 0.0)
        mask = active.astype(np.float64)

        def solve(vector: NDArray[np.float64]) -> NDArray[np.float64]:
            scaled, direction = vector / diagonal, rank_one / diagonal  # noqa: B023
            return scaled - direction * ((rank_one * scaled).sum(axis=1) / (1.0 + (rank_one * direction).sum(axis=1)))[:, None]  # noqa: B023

        inverse_gradient, inverse_ones = solve(gradient * mask), solve(mask)
        multiplier = (inverse_gradient * mask).sum(axis=1) / np.maximum((inverse_ones * mask).sum(axis=1), 1e-300)
        direction = -(inverse_gradient - multiplier[:, None] * inverse_ones) * mask
        ratio = np.where(direction < 0, spread / np.maximum(-direction, 1e-300), np.inf)
        length = np.minimum(1.0, ratio.min(axis=1))
        spread = np.maximum(spread + length[:, None] * direction, 0.0)
        spread = spread * (free / np.maximum(spread.sum(axis=1), 1e-300))[:, None]  # back onto Σ Δ = free
    return best

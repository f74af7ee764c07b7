"""Certification of the exact solver: brute force on small instances, and nothing random or nearby beats it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from sb3_ccddpg.solvers import oracle as oracle_module
from sb3_ccddpg.solvers.oracle import (
    PARTITION_LIMIT,
    Oracle,
    StateProblem,
    channel_candidates,
    eq14_sum_shares,
    on_satellites,
    partition_count,
    satellite_sums,
    set_partitions,
)
from sb3_ccddpg_envs import Allocation, SatGroundConfig, allocation_cost, random_allocation, reference_normalisers

MODELS = [("eq15", "sum"), ("eq14", "sum"), ("eq15", "max"), ("eq14", "max")]


def objective(config: SatGroundConfig, data: np.ndarray, allocation: Allocation, mu: float) -> float:
    return float(allocation_cost(config, data, allocation, mu)["objective"])


def brute_force_shares(config: SatGroundConfig, data: np.ndarray, association: tuple[int, ...], mu: float) -> np.ndarray:
    """Best CPU shares for one association, by SLSQP on the epigraph of T_train (written from spec §3–5).

    Variables: each UAV's own share ρ_i and τ ≥ T_train. Only τ and the satellite energy depend on the
    shares; they enter the objective as (1−μ)·τ/T_max + μ·(N·P_hover·τ + Σ E_cmp)/E_max.
    """
    n_uavs, n_satellites, frequency = config.n_uavs, config.n_satellites, config.cpu_frequency
    t_max, e_max = reference_normalisers(config)
    labels = np.array(association)
    on_satellite = (labels == np.arange(n_satellites)[:, None]).astype(float)
    cycles = data * config.units_per_mb * config.cycles_per_unit
    unit = cycles.max() / frequency

    def times(share: np.ndarray) -> np.ndarray:
        per_uav = cycles / ((share + config.eps) * frequency) / unit
        return on_satellite @ per_uav if config.train_aggregation == "sum" else per_uav

    def energy(share: np.ndarray) -> float:
        rho = on_satellite * share
        if config.energy_model == "eq15":
            return float(config.capacitance * ((on_satellite @ cycles) * (rho.sum(axis=1) * frequency) ** 2).sum())
        return float(config.capacitance * (cycles * (share * frequency) ** 2).sum())

    def cost(x: np.ndarray) -> float:
        tau = x[-1] * unit
        return (1 - mu) * tau / t_max + mu * (n_uavs * config.hover_power * tau + energy(x[:-1])) / e_max

    best, best_value = None, np.inf
    rng = np.random.default_rng(0)
    for start in range(4):
        share = np.full(n_uavs, 0.5) if start == 0 else rng.uniform(0.05, 1.0, n_uavs)
        share = share / np.maximum((on_satellite @ share)[labels], 1.0)
        x0 = np.append(share, times(share).max() * 1.01)
        result = minimize(
            cost,
            x0,
            method="SLSQP",
            bounds=[(1e-6, 1.0)] * n_uavs + [(0.0, None)],
            constraints=[
                {"type": "ineq", "fun": lambda x: x[-1] - times(x[:-1])},
                {"type": "ineq", "fun": lambda x: 1.0 - on_satellite @ x[:-1]},
            ],
            options={"ftol": 1e-15, "maxiter": 1000},
        )
        # SLSQP often stops with "positive directional derivative" at the optimum (ftol is tighter than it can
        # reach): any start whose constraints hold counts, and the best of the starts is kept.
        share, tau = np.clip(result.x[:-1], 1e-6, 1.0), result.x[-1]
        feasible = np.all(times(share) <= tau + 1e-9) and np.all(on_satellite @ share <= 1.0 + 1e-9)
        if feasible and result.fun < best_value:
            best, best_value = share, result.fun
    assert best is not None
    rho = on_satellite * best
    return rho / np.maximum(rho.sum(axis=1, keepdims=True), 1.0)


def brute_force(config: SatGroundConfig, data: np.ndarray, mu: float) -> float:
    """Every channel vector and every association (satellites labelled), shares by SLSQP, scored by the model.

    T_total and E_total are sums of channel-only and share-only terms (spec §3–5), so the best channel
    vector and the best association-with-shares are searched separately and combined (C6/C7 slack here).
    """
    n_uavs, n_satellites = config.n_uavs, config.n_satellites
    fixed_association = tuple(i % n_satellites for i in range(n_uavs))
    fixed_shares = brute_force_shares(config, data, fixed_association, mu)
    vectors = [
        v for v in itertools.product(range(1, config.channels_total + 1), repeat=n_uavs) if sum(v) <= config.channels_total
    ]
    channel_costs = [
        objective(config, data, Allocation(np.array(v), np.array(fixed_association), fixed_shares), mu) for v in vectors
    ]
    best_channels = np.array(vectors[int(np.argmin(channel_costs))])
    values = []
    for association in itertools.product(range(n_satellites), repeat=n_uavs):
        shares = brute_force_shares(config, data, association, mu)
        values.append(objective(config, data, Allocation(best_channels, np.array(association), shares), mu))
    return min(values)


@pytest.mark.parametrize(("energy_model", "aggregation"), MODELS)
@pytest.mark.parametrize(("n_uavs", "n_satellites", "channels_total", "mu", "seed"), [(3, 2, 6, 0.5, 0), (4, 3, 7, 0.8, 1)])
def test_oracle_agrees_with_brute_force(
    energy_model: str, aggregation: str, n_uavs: int, n_satellites: int, channels_total: int, mu: float, seed: int
) -> None:
    config = SatGroundConfig(
        n_uavs=n_uavs,
        n_satellites=n_satellites,
        channels_total=channels_total,
        energy_model=energy_model,
        train_aggregation=aggregation,
    )
    data = np.random.default_rng(seed).uniform(100, 1000, n_uavs)
    oracle = Oracle(config)
    allocation = oracle.allocate(data, mu)
    assert oracle.last_feasible
    found = objective(config, data, allocation, mu)
    assert found == pytest.approx(brute_force(config, data, mu), rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_eq14_sum_shares_match_slsqp_on_every_association(seed: int) -> None:
    """The KKT solve of the eq14/sum share problem is no worse than SLSQP from four starts, and agrees with it."""
    rng = np.random.default_rng(seed)
    n_uavs, n_satellites = int(rng.integers(3, 7)), int(rng.integers(2, 4))
    config = SatGroundConfig(n_uavs=n_uavs, n_satellites=n_satellites, energy_model="eq14", reference_n_uavs=None)
    data, mu = rng.uniform(100, 1000, n_uavs), float(rng.choice([0.0, rng.uniform(), 1.0]))
    problem = StateProblem(config, data, mu)
    associations = rng.integers(0, n_satellites, (8, n_uavs))
    on_satellite = on_satellites(associations, n_satellites)
    _, shares = eq14_sum_shares(problem, on_satellite, np.zeros(len(associations)))
    assert np.all(shares.sum(axis=-1) <= 1 + 1e-12) and np.all(shares[on_satellite == 0] == 0)
    for association, share in zip(associations, shares, strict=True):
        found = objective(config, data, Allocation(problem.best_channels, association, share), mu)
        reference = brute_force_shares(config, data, tuple(association), mu)
        slsqp = objective(config, data, Allocation(problem.best_channels, association, reference), mu)
        assert found <= slsqp * (1 + 1e-9) and found == pytest.approx(slsqp, rel=1e-6)


def test_channel_candidates_contain_the_optimum_of_every_weighting() -> None:
    """For any weights of (max T_up, Σ T_up), the best of all channel vectors is among the candidates."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        upload = rng.uniform(1.0, 10.0, 4)
        total = int(rng.integers(4, 11))
        candidates = channel_candidates(upload, total)
        assert np.all(candidates.sum(axis=1) == total) and np.all(candidates >= 1)
        vectors = np.array([v for v in itertools.product(range(1, total + 1), repeat=4) if sum(v) <= total])
        for weight in (0.0, 0.3, 1.0, 10.0):

            def score(v: np.ndarray) -> np.ndarray:
                return (upload / v).max(axis=-1) + weight * (upload / v).sum(axis=-1)  # noqa: B023

            assert score(candidates).min() == pytest.approx(score(vectors).min(), rel=1e-12)


def test_channel_candidates_equal_a_greedy_fill_per_bottleneck() -> None:
    """The global-order construction gives exactly the per-candidate greedy fill (ties to the lower UAV index),
    from one UAV per channel (ξ_total = N) to four channels each, at sizes beyond the enumeration."""
    rng = np.random.default_rng(5)
    for trial in range(100):
        n_uavs = int(rng.integers(1, 25))
        total = int(rng.integers(n_uavs, 4 * n_uavs + 1))
        upload = rng.uniform(1.0, 10.0, n_uavs)
        if trial % 3 == 0:
            upload = np.round(upload)  # equal uploads: ties between UAVs
        bottlenecks = np.unique(upload[:, None] / np.arange(1, total + 1))
        need = np.maximum(np.ceil(upload / bottlenecks[:, None] * (1.0 - 1e-12)).astype(np.int64), 1)
        expected = set()
        for row in need[need.sum(axis=1) <= total]:
            channels = row.copy()
            for _ in range(total - row.sum()):  # one channel at a time to the largest reduction of Σ s_i/ξ_i
                channels[np.argmax(upload / channels - upload / (channels + 1))] += 1
            expected.add(tuple(channels))
        candidates = channel_candidates(upload, total)
        assert {tuple(row) for row in candidates} == expected
        assert np.array_equal(candidates, np.unique(candidates, axis=0))  # distinct, in lexicographic order


def test_satellite_sums_equal_the_one_hot_product() -> None:
    rng = np.random.default_rng(8)
    for n_uavs, n_satellites in ((1, 1), (5, 3), (11, 8), (64, 8)):
        partitions = rng.integers(0, n_satellites, (30, n_uavs))
        values = rng.uniform(0.0, 5.0, (3, n_uavs))
        expected = np.stack([on_satellites(partitions, n_satellites) @ row for row in values])
        np.testing.assert_allclose(satellite_sums(partitions, values, n_satellites), expected, rtol=1e-12)


@pytest.mark.parametrize(("energy_model", "aggregation"), [("eq15", "sum"), ("eq15", "max"), ("eq14", "max")])
def test_fill_skips_scoring_only_where_the_caps_are_clearly_met(
    energy_model: str, aggregation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fill`` takes a solution within the C6/C7 caps by more than CAP_MARGIN as feasible without scoring it:
    the same allocations and feasibility as scoring every one, where the caps bind (reference of 2 UAVs) and
    where they do not."""
    rng = np.random.default_rng(9)
    cases = []
    for reference in (2, None):
        config = SatGroundConfig(
            n_uavs=7, n_satellites=3, energy_model=energy_model, train_aggregation=aggregation, reference_n_uavs=reference
        )
        for _ in range(40):
            problem = StateProblem(config, rng.uniform(100, 1000, 7), float(rng.uniform()))
            cases.append((problem, rng.integers(0, 3, (int(rng.integers(1, 20)), 7))))
    scorings = []
    score = StateProblem.meets_constraints

    def counted_score(self: StateProblem, allocation: Allocation) -> bool:
        scorings.append(allocation)
        return score(self, allocation)

    monkeypatch.setattr(StateProblem, "meets_constraints", counted_score)
    fast = [problem.fill(partitions) for problem, partitions in cases]
    fast_scorings = len(scorings)
    monkeypatch.setattr(oracle_module, "CAP_MARGIN", np.inf)  # never clearly met: every solution scored
    scored = [problem.fill(partitions) for problem, partitions in cases]
    assert fast_scorings < len(scorings) - fast_scorings  # the shortcut was taken
    for (allocation, feasible), (reference, reference_feasible) in zip(fast, scored, strict=True):
        assert feasible == reference_feasible
        for field in ("channels", "association", "cpu_share"):
            np.testing.assert_array_equal(getattr(allocation, field), getattr(reference, field))
    assert 0 < sum(feasible for _, feasible in scored) < len(scored)  # both kinds of state occurred


def test_set_partitions_counts_and_canonical_form() -> None:
    # Σ_{k ≤ 3} Stirling numbers of the second kind S(11, k) = 1 + 1023 + 28501.
    assert len(set_partitions(11, 3)) == 29_525
    assert len(set_partitions(4, 2)) == 8 and len(set_partitions(5, 5)) == 52  # Bell number B5
    for row in set_partitions(6, 3):
        assert row[0] == 0 and all(row[i] <= row[:i].max() + 1 for i in range(1, 6))
    assert len({tuple(r) for r in set_partitions(6, 3)}) == len(set_partitions(6, 3))


def test_partition_count_is_exact_and_the_enumeration_refuses_above_the_limit() -> None:
    for n_items, max_blocks in [(1, 1), (4, 2), (5, 5), (7, 3), (9, 8)]:
        assert partition_count(n_items, max_blocks) == len(set_partitions(n_items, max_blocks))
    assert partition_count(16, 5) == 1_275_163_905  # Σ_{k ≤ 5} S(16, k), exact integers
    assert partition_count(64, 8) > 10**50 and partition_count(11, 8) <= PARTITION_LIMIT
    message = r"N = 16 UAVs into at most M = 5 satellites: there are 1,275,163,905.*solve.*lower_bound"
    with pytest.raises(ValueError, match=message):
        set_partitions(16, 5)
    with pytest.raises(ValueError, match="N = 64 UAVs"):
        set_partitions(64, 8)


_ORACLES: dict[tuple[str, str], Oracle] = {}


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(MODELS),
    st.floats(0.0, 1.0),
    st.integers(0, 2**31 - 1),
    st.sampled_from(["channel", "satellite", "row", "split"]),
)
def test_no_random_or_perturbed_allocation_beats_the_oracle(
    model: tuple[str, str], mu: float, seed: int, perturbation: str
) -> None:
    config = SatGroundConfig(n_uavs=7, energy_model=model[0], train_aggregation=model[1])
    oracle = _ORACLES.setdefault(model, Oracle(config))
    rng = np.random.default_rng(seed)
    data = rng.uniform(100, 1000, config.n_uavs)
    best = oracle.allocate(data, mu)
    best_value = objective(config, data, best, mu)
    random_values = allocation_cost(config, np.broadcast_to(data, (200, 7)), random_allocation(config, rng, 200), mu)
    assert random_values["objective"].min() >= best_value * (1 - 1e-9)

    channels, association, shares = best.channels.copy(), best.association.copy(), best.cpu_share.copy()
    i, k = rng.choice(config.n_uavs, 2, replace=False)
    if perturbation == "channel" and channels[i] > 1:
        channels[i] -= 1
        channels[k] += 1
    elif perturbation == "satellite":
        target = (association[i] + 1 + rng.integers(config.n_satellites - 1)) % config.n_satellites
        shares[target, i], shares[association[i], i] = shares[association[i], i], 0.0
        association[i] = target
        shares = shares / np.maximum(shares.sum(axis=1, keepdims=True), 1.0)
    elif perturbation == "row":
        shares[association[i]] *= rng.uniform(0.5, 1.0)
    else:
        j = association[i]
        members = np.flatnonzero(association == j)
        moved = shares[j, members] * rng.dirichlet(np.ones(len(members)))
        shares[j, members] = moved / moved.sum() * shares[j, members].sum()
    perturbed = Allocation(channels, association, shares)
    assert objective(config, data, perturbed, mu) >= best_value * (1 - 1e-9)


def test_c6_is_honoured_when_it_binds() -> None:
    """Costly satellite energy at μ = 1 pushes the unconstrained optimum past T_th; the oracle stays within."""
    config = SatGroundConfig(n_uavs=5, capacitance=1e-22)
    data = np.full(5, 900.0)
    oracle = Oracle(config)
    allocation = oracle.allocate(data, 1.0)
    terms = allocation_cost(config, data, allocation, 1.0)
    assert oracle.last_feasible and terms["C6_ok"] and terms["C7_ok"]
    t_max, _ = reference_normalisers(config)
    # The cap binds, up to the ε of eq 7 that the search neglects (it lands ~3e-8 s/s below the cap, inside).
    assert terms["T_total"] == pytest.approx(2 * t_max, rel=1e-6)
    # Slower training (lower shares) would save energy, but only by breaking C6.
    slower = Allocation(allocation.channels, allocation.association, allocation.cpu_share * 0.9)
    slower_terms = allocation_cost(config, data, slower, 1.0)
    assert slower_terms["objective"] < terms["objective"] and not slower_terms["C6_ok"]
    # No random allocation that meets C6 and C7 beats it.
    candidates = allocation_cost(
        config, np.broadcast_to(data, (5000, 5)), random_allocation(config, np.random.default_rng(0), 5000), 1.0
    )
    feasible = candidates["C6_ok"] & candidates["C7_ok"]
    assert feasible.any() and candidates["objective"][feasible].min() >= terms["objective"] * (1 - 1e-9)


def test_solve_time_is_recorded_by_the_harness() -> None:
    from sb3_ccddpg.evaluation import evaluate

    config = SatGroundConfig(n_uavs=6)
    frame = evaluate(Oracle(config), config, n_states=5, seed=0)
    assert np.all(frame["decision_time_s"] > 0) and math.isfinite(frame["objective"].mean())

"""Baselines: every allocation they return is feasible; GA improves on RA; the harness is deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch as th
from hypothesis import given, settings
from hypothesis import strategies as st

from sb3_ccddpg.evaluation import METRICS, AllocationMethod, evaluate, summarize
from sb3_ccddpg.solvers.baselines import EqualSplit, GeneticAlgorithm, RandomAlgorithm, SnakeDeal, snake_deal
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg_envs import Allocation, SatGroundConfig, allocation_cost


def assert_feasible(allocation: Allocation, config: SatGroundConfig) -> None:
    assert allocation.channels.shape == (config.n_uavs,)
    assert np.all(allocation.channels >= 1) and allocation.channels.sum() <= config.channels_total
    assert np.all((allocation.association >= 0) & (allocation.association < config.n_satellites))
    on_satellite = allocation.association == np.arange(config.n_satellites)[:, None]
    assert np.all(allocation.cpu_share[~on_satellite] == 0) and np.all(allocation.cpu_share >= 0)
    assert np.all(allocation.cpu_share.sum(axis=1) <= 1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 11),
    st.integers(1, 4),
    st.integers(0, 2**31 - 1),
    st.sampled_from(["equal split", "RA", "GA", "snake deal"]),
    st.floats(0, 1),
)
def test_every_baseline_allocation_is_feasible(n_uavs: int, n_satellites: int, seed: int, name: str, mu: float) -> None:
    config = SatGroundConfig(n_uavs=n_uavs, n_satellites=n_satellites)
    methods: dict[str, AllocationMethod] = {
        "equal split": EqualSplit(config),
        "RA": RandomAlgorithm(config, seed),
        "GA": GeneticAlgorithm(config, evaluations=60, population=20, seed=seed),
        "snake deal": SnakeDeal(config),
    }
    data = np.random.default_rng(seed).uniform(100, 1000, n_uavs)
    assert_feasible(methods[name].allocate(data, mu), config)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_the_snake_deal_balances_the_groups_and_mixes_the_sizes(n_uavs: int, n_satellites: int, seed: int) -> None:
    ranks = np.random.default_rng(seed).permutation(n_uavs)
    labels = snake_deal(ranks, n_satellites)
    sizes = np.bincount(labels, minlength=n_satellites)
    assert labels.min() >= 0 and sizes.size == n_satellites
    assert set(sizes) <= {n_uavs // n_satellites, -(-n_uavs // n_satellites)}
    by_rank = labels[np.argsort(ranks)]  # the labels of ranks 0, 1, 2, ...
    expected = [k % n_satellites if k // n_satellites % 2 == 0 else n_satellites - 1 - k % n_satellites for k in range(n_uavs)]
    np.testing.assert_array_equal(by_rank, expected)
    np.testing.assert_array_equal(snake_deal(th.as_tensor(ranks), n_satellites).numpy(), labels)  # the same in torch


@pytest.mark.parametrize("seed", range(3))
def test_the_snake_deal_method_fills_its_assignment_exactly(seed: int) -> None:
    config = SatGroundConfig(n_uavs=7)
    data = np.random.default_rng(seed).uniform(*config.data_mb_range, 7)
    dealt = SnakeDeal(config).allocate(data, 0.5)
    np.testing.assert_array_equal(dealt.association, snake_deal(np.argsort(np.argsort(data)), 3))
    restricted = Oracle(config, partitions=dealt.association[None, :]).allocate(data, 0.5)
    assert allocation_cost(config, data, dealt)["objective"] == pytest.approx(
        allocation_cost(config, data, restricted)["objective"], rel=1e-12
    )


def test_ga_improves_on_ra_and_with_its_budget() -> None:
    config = SatGroundConfig(n_uavs=8)
    held_out = {"n_states": 10, "seed": 4}
    random = evaluate(RandomAlgorithm(config, 0), config, **held_out)["objective"].mean()
    small = evaluate(GeneticAlgorithm(config, evaluations=200, seed=0), config, **held_out)["objective"].mean()
    large = evaluate(GeneticAlgorithm(config, evaluations=2000, seed=0), config, **held_out)["objective"].mean()
    assert small < random and large < small


@pytest.mark.parametrize(("n_uavs", "n_satellites"), [(11, 3), (64, 8)])
def test_ga_starts_from_the_equal_split_and_never_returns_worse(n_uavs: int, n_satellites: int) -> None:
    config = SatGroundConfig(
        n_uavs=n_uavs, n_satellites=n_satellites, channels_total=max(32, 3 * n_uavs), reference_n_uavs=None
    )
    held_out = {"n_states": 4, "seed": 5}
    equal = evaluate(EqualSplit(config), config, **held_out)["objective"].to_numpy()
    ga = evaluate(GeneticAlgorithm(config, evaluations=60, population=20, seed=0), config, **held_out)
    assert (ga["objective"].to_numpy() <= equal * (1 + 1e-12)).all()
    assert (ga["objective"].to_numpy() < equal).any()


def test_ga_rejects_bad_budgets() -> None:
    with pytest.raises(ValueError, match="evaluations must be at least population = 50"):
        GeneticAlgorithm(SatGroundConfig(), evaluations=10)
    with pytest.raises(ValueError, match="population must be an integer ≥ 2"):
        GeneticAlgorithm(SatGroundConfig(), population=1)


def test_harness_is_deterministic_and_complete() -> None:
    config = SatGroundConfig(n_uavs=6)
    runs = [evaluate(GeneticAlgorithm(config, evaluations=100, seed=1), config, n_states=5, seed=9) for _ in range(2)]
    for frame in runs:
        assert set(METRICS) <= set(frame.columns) and len(frame) == 5
    pd.testing.assert_frame_equal(runs[0].drop(columns="decision_time_s"), runs[1].drop(columns="decision_time_s"))
    other_states = evaluate(GeneticAlgorithm(config, evaluations=100, seed=1), config, n_states=5, seed=10)
    assert not np.allclose(other_states["objective"], runs[0]["objective"])


def test_summary_reports_gap_and_rates() -> None:
    config = SatGroundConfig(n_uavs=6)
    frames = [evaluate(m, config, 50, 0) for m in (EqualSplit(config), RandomAlgorithm(config, 0))]
    table = summarize(frames, reference="equal split")
    assert table.loc["equal split", "gap_pct"] == 0.0 and table.loc["RA", "gap_pct"] > 0
    assert 0.0 <= table.loc["RA", "C6_violation_rate"] <= 1.0
    assert table.loc["RA", "objective_ci95"] > 0
    with pytest.raises(ValueError, match="mu must be in"):
        evaluate(EqualSplit(config), config, 5, 0, mu=2.0)
    with pytest.raises(ValueError, match="n_states must be an integer ≥ 1"):
        evaluate(EqualSplit(config), config, 0, 0)

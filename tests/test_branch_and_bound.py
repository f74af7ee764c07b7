"""Branch and bound over assignments: the enumeration oracle's optimum, limits that stop it, bounds below it."""

from __future__ import annotations

import numpy as np
import pytest

from sb3_ccddpg.solvers import Solution
from sb3_ccddpg.solvers.oracle import ENUMERATION_LIMIT, Oracle, partition_count, set_partitions
from sb3_ccddpg.solvers.search import TwinSearch
from sb3_ccddpg_envs import SatGroundConfig, allocation_cost, equal_split

MODELS = [("eq15", "sum"), ("eq14", "sum"), ("eq15", "max"), ("eq14", "max")]


def objective(config: SatGroundConfig, data: np.ndarray, solution_or_oracle: Solution | Oracle, mu: float) -> float:
    if isinstance(solution_or_oracle, Oracle):
        return float(allocation_cost(config, data, solution_or_oracle.allocate(data, mu), mu)["objective"])
    return float(allocation_cost(config, data, solution_or_oracle.allocation, mu)["objective"])


@pytest.mark.parametrize(("energy_model", "aggregation"), MODELS)
def test_solve_finds_the_enumeration_optimum(energy_model: str, aggregation: str) -> None:
    """Random states at N ≤ 9, M ∈ 2..5, C6/C7 binding (reference of 2 UAVs) or not (own N, the paper's 11)."""
    rng = np.random.default_rng(0)
    slow = (energy_model, aggregation) == ("eq14", "sum")  # leaves solved by SLSQP
    n_feasible = n_infeasible = 0
    for n_uavs in range(2, 10):
        for n_satellites in (2, 3, 5):
            for reference in (None, 2, 11):
                config = SatGroundConfig(
                    n_uavs=n_uavs,
                    n_satellites=n_satellites,
                    energy_model=energy_model,
                    train_aggregation=aggregation,
                    reference_n_uavs=reference,
                )
                oracle = Oracle(config, partitions=set_partitions(n_uavs, n_satellites))  # enumeration
                for _ in range(1 if slow else 4):
                    data, mu = rng.uniform(100, 1000, n_uavs), float(rng.uniform())
                    exact = objective(config, data, oracle, mu)
                    solution = oracle.solve(data, mu)
                    assert solution.proved_optimal and solution.feasible == oracle.last_feasible
                    assert solution.objective == pytest.approx(exact, rel=1e-9)
                    assert solution.objective == pytest.approx(objective(config, data, solution, mu), rel=1e-12)
                    assert solution.lower_bound <= solution.objective and solution.lower_bound <= exact
                    assert solution.lower_bound >= exact * (1 - 2e-6)  # proved: the margins only
                    n_feasible += solution.feasible
                    n_infeasible += not solution.feasible
    assert n_feasible > 0 and (slow or n_infeasible > 0)


@pytest.mark.parametrize("limit", ["node_limit", "time_limit"])
def test_limits_stop_the_search_with_a_valid_bound(limit: str) -> None:
    config = SatGroundConfig(n_uavs=9, n_satellites=4)
    oracle = Oracle(config, partitions=set_partitions(9, 4))
    for seed in range(5):
        data = np.random.default_rng(seed).uniform(100, 1000, 9)
        exact = objective(config, data, oracle, 0.5)
        solution = oracle.solve(data, 0.5, **{limit: 1 if limit == "node_limit" else 0.0})
        assert not solution.proved_optimal and solution.nodes <= 10
        assert solution.lower_bound <= exact <= solution.objective
        assert solution.lower_bound < exact * (1 - 1e-4)  # only the root was bounded
        # The incumbent (twin-descent from the equal split) is what a stopped search returns at least.
        descent = TwinSearch(config, "twin-descent").best(data, 0.5, equal_split(config))
        assert solution.objective <= float(allocation_cost(config, data, descent, 0.5)["objective"]) * (1 + 1e-12)


def test_allocate_beyond_the_enumeration_limit_uses_branch_and_bound() -> None:
    config = SatGroundConfig(n_uavs=13, n_satellites=4, channels_total=39, reference_n_uavs=None)
    assert partition_count(13, 4) > ENUMERATION_LIMIT
    oracle = Oracle(config)  # nothing is enumerated
    assert not oracle.enumerates
    data = np.random.default_rng(3).uniform(100, 1000, 13)
    allocation = oracle.allocate(data, 0.5)
    solution = oracle.solve(data, 0.5)
    assert solution.proved_optimal and oracle.last_feasible == solution.feasible
    found = float(allocation_cost(config, data, allocation, 0.5)["objective"])
    assert found == pytest.approx(solution.objective, rel=1e-12)
    descent = TwinSearch(config, "twin-descent").best(data, 0.5, equal_split(config))
    assert found <= float(allocation_cost(config, data, descent, 0.5)["objective"]) * (1 + 1e-12)


def test_allocate_at_scale_stops_at_its_time_limit_with_a_bound() -> None:
    config = SatGroundConfig(n_uavs=40, n_satellites=8, channels_total=120, reference_n_uavs=None)
    oracle = Oracle(config, time_limit=0.2)
    data = np.random.default_rng(4).uniform(100, 1000, 40)
    allocation = oracle.allocate(data, 0.5)
    solution = oracle.last_solution
    assert solution is not None and not solution.proved_optimal and solution.seconds < 5.0
    found = float(allocation_cost(config, data, allocation, 0.5)["objective"])
    descent = TwinSearch(config, "twin-descent").best(data, 0.5, equal_split(config))
    assert solution.lower_bound <= found <= float(allocation_cost(config, data, descent, 0.5)["objective"]) * (1 + 1e-12)
    assert solution.lower_bound > 0.9 * found

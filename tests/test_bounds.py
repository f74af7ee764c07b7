"""The certified lower bound: never above the exact (enumeration) optimum, with C6/C7 binding or not."""

from __future__ import annotations

import numpy as np
import pytest

import sb3_ccddpg
from sb3_ccddpg.solvers import lower_bound
from sb3_ccddpg.solvers.oracle import Oracle, StateProblem, set_partitions
from sb3_ccddpg_envs import SatGroundConfig, allocation_cost

MODELS = [("eq15", "sum"), ("eq14", "sum"), ("eq15", "max"), ("eq14", "max")]
#: reference_n_uavs of the draws: 1 and 2 make C6/C7 bind (or fail), None and 11 mostly not.
REFERENCES = (None, 1, 2, 11)


def check_states(model: tuple[str, str], n_states: int, max_uavs: int, seed: int) -> dict[str, int]:
    """Draw states, compare the bound (closed form, short and default searches) with the enumeration optimum."""
    rng = np.random.default_rng(seed)
    oracles: dict[tuple[int, int, int | None], Oracle] = {}
    counts = {"free": 0, "binding": 0, "infeasible": 0}
    for _ in range(n_states):
        n_uavs = int(min(rng.integers(2, max_uavs + 1), rng.integers(2, max_uavs + 1)))  # small N mostly
        key = (n_uavs, int(rng.integers(2, 9)), REFERENCES[rng.integers(len(REFERENCES))])
        if key not in oracles:
            config = SatGroundConfig(
                n_uavs=key[0],
                n_satellites=key[1],
                reference_n_uavs=key[2],
                energy_model=model[0],
                train_aggregation=model[1],
            )
            oracles[key] = Oracle(config, partitions=set_partitions(key[0], key[1]))  # enumeration
        oracle = oracles[key]
        config = oracle.config
        data, mu = rng.uniform(*config.data_mb_range, n_uavs), float(rng.uniform())
        optimum = float(allocation_cost(config, data, oracle.allocate(data, mu), mu)["objective"])
        node_limit = int(rng.choice([0, 20, 20_000]))
        bound = lower_bound(config, data, mu, node_limit=node_limit)
        assert bound <= optimum, (key, data, mu, node_limit, bound / optimum)
        problem = StateProblem(config, data, mu)
        free = problem.meets_constraints(problem.best_unconstrained(set_partitions(n_uavs, config.n_satellites)))
        counts["free" if free else "binding" if oracle.last_feasible else "infeasible"] += 1
    return counts


def test_lower_bound_is_never_above_the_optimum() -> None:
    """10 000 states of the default model (eq15, summed eq 7), N ≤ 9, M ∈ 2..8, μ ∈ [0, 1]."""
    counts = check_states(("eq15", "sum"), 10_000, 9, seed=0)
    assert min(counts.values()) >= 500, counts  # C6/C7 slack, binding, and impossible, all well represented


@pytest.mark.parametrize("model", MODELS[1:])
def test_lower_bound_of_the_other_models(model: tuple[str, str]) -> None:
    counts = check_states(model, 100 if model == ("eq14", "sum") else 1_000, 7 if model == ("eq14", "sum") else 9, seed=1)
    assert counts["free"] > 0 and counts["binding"] + counts["infeasible"] > 0, counts


def test_lower_bound_tightens_with_nodes_and_is_the_optimum_once_the_search_finishes() -> None:
    config = SatGroundConfig(n_uavs=9, n_satellites=4)
    oracle = Oracle(config, partitions=set_partitions(9, 4))
    for seed in range(5):
        data = np.random.default_rng(seed).uniform(100, 1000, 9)
        optimum = float(allocation_cost(config, data, oracle.allocate(data, 0.5), 0.5)["objective"])
        bounds = [lower_bound(config, data, 0.5, node_limit=limit) for limit in (0, 100, 100_000)]
        assert bounds[0] <= bounds[1] <= bounds[2] <= optimum
        assert bounds[2] == pytest.approx(optimum, rel=2e-6)
        assert bounds[0] >= 0.9 * optimum  # the closed form alone is within 10 %


def test_lower_bound_is_exported_and_checks_its_arguments() -> None:
    assert sb3_ccddpg.lower_bound is lower_bound
    config = SatGroundConfig(n_uavs=3)
    with pytest.raises(ValueError, match="data_mb must be 3 finite positive sizes"):
        lower_bound(config, np.ones(4), 0.5)
    with pytest.raises(ValueError, match=r"mu must be in \[0, 1\]"):
        lower_bound(config, np.ones(3), 1.5)
    with pytest.raises(ValueError, match="node_limit must be >= 0"):
        lower_bound(config, np.ones(3), 0.5, node_limit=-1)

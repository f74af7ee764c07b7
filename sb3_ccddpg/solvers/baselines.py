"""Baseline methods for the evaluation harness: equal split, RA and GA (spec §7), and the snake deal by data size."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.optimize import minimize

from sb3_ccddpg.solvers.oracle import StateProblem
from sb3_ccddpg_envs import (
    Allocation,
    SatGroundConfig,
    action_size,
    allocation_cost,
    encode,
    equal_split,
    project,
    random_allocation,
)


class EqualSplit:
    """Equal split (spec §7): the same allocation for every state.

    :param config: system parameters
    """

    name = "equal split"

    def __init__(self, config: SatGroundConfig) -> None:
        self.allocation = equal_split(config)

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """The equal split, whatever the state."""
        return self.allocation


class RandomAlgorithm:
    """RA, the paper's random algorithm (spec §7): a uniform action in the box, decoded.

    :param config: system parameters
    :param seed: seed of the method's own generator
    """

    name = "RA"

    def __init__(self, config: SatGroundConfig, seed: int = 0) -> None:
        self.config = config
        self.rng = np.random.default_rng(seed)

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """A random feasible allocation, independent of the state."""
        return random_allocation(self.config, self.rng)


def snake_deal(ranks: Any, n_satellites: int) -> Any:
    """Deal the UAVs to the satellites in order of data size, back and forth: ranks 0, 1, …, M − 1 go to
    satellites 0, 1, …, M − 1, ranks M, …, 2M − 1 to satellites M − 1, …, 0, and so on.

    Every satellite gets ⌊N/M⌋ or ⌈N/M⌉ UAVs, large and small ones mixed. Arithmetic only, so NumPy arrays
    and torch tensors alike (the set policy's ``size_deal`` starts its satellite scores from it).

    :param ranks: each UAV's rank by data size, 0 for the smallest, integers of shape ``(..., N)``
    :param n_satellites: M
    :return: satellite labels in ``[0, M)``, the same shape
    """
    position, backwards = ranks % n_satellites, ranks // n_satellites % 2
    return position + backwards * (n_satellites - 1 - 2 * position)


class SnakeDeal:
    """The snake deal by data size (:func:`snake_deal`) with the exact best channels and CPU shares for that
    assignment: one exact fill per state, no learning and no search; the yardstick a learned assignment must
    beat at scale.

    :param config: system parameters
    """

    name = "snake deal"

    def __init__(self, config: SatGroundConfig) -> None:
        self.config = config

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """The snake deal of this state's UAVs, filled exactly (C6/C7 honoured where the assignment can)."""
        ranks = np.argsort(np.argsort(data_mb, kind="stable"), kind="stable")
        labels = snake_deal(ranks, self.config.n_satellites)
        allocation, _ = StateProblem(self.config, data_mb, mu).fill(labels[None, :])
        return allocation


class _AllocationProblem(Problem):
    """Minimise the objective of one state over actions in the box, each decoded by :func:`project`."""

    def __init__(self, config: SatGroundConfig, data_mb: NDArray[np.float64], mu: float) -> None:
        super().__init__(n_var=action_size(config.n_uavs, config.n_satellites), n_obj=1, xl=-1.0, xu=1.0)
        self.config = config
        self.data_mb = data_mb
        self.mu = mu

    def _evaluate(self, x: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        allocations = project(x, self.config.n_uavs, self.config.n_satellites, self.config.channels_total)
        out["F"] = allocation_cost(self.config, self.data_mb, allocations, self.mu)["objective"][:, None]


class DecoderRepair(Repair):
    """Replace every individual by the encoding of its decoded allocation, so each one is feasible as it stands."""

    def __init__(self, config: SatGroundConfig) -> None:
        super().__init__()
        self.config = config

    def _do(self, problem: Problem, x: NDArray[np.float64], **kwargs: Any) -> NDArray[np.float64]:
        config = self.config
        return encode(project(x, config.n_uavs, config.n_satellites, config.channels_total), config.channels_total)


class GeneticAlgorithm:
    """GA, the paper's genetic algorithm (spec §7): pymoo's real-coded GA over the action box, per state.

    Individuals are actions in ``[-1, 1]^(N + M·N)``; the decoder is the repair (each individual is replaced
    by the encoding of its decoded, feasible allocation), SBX crossover and polynomial mutation as in pymoo's
    defaults. The first population is the equal split (spec §7) and ``population − 1`` uniform actions, and
    pymoo's survival keeps the best individual, so the GA never returns worse than the equal split; each
    generation is scored in one batched cost call. Its quality depends on the budget, so the budget is part
    of its name.

    :param config: system parameters
    :param evaluations: budget of objective evaluations per state (≥ ``population``)
    :param population: population size
    :param seed: seed of the first state; state k uses ``seed + k``
    """

    def __init__(self, config: SatGroundConfig, evaluations: int = 5000, population: int = 50, seed: int = 0) -> None:
        if population < 2:
            raise ValueError(f"population must be an integer ≥ 2, got {population!r}")
        if evaluations < population:
            raise ValueError(f"evaluations must be at least population = {population}, got {evaluations!r}")
        self.config = config
        self.evaluations = evaluations
        self.population = population
        self.seed = seed
        self.name = f"GA ({evaluations} evals)"
        self._calls = 0

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """The best allocation the GA finds within its evaluation budget."""
        config = self.config
        rng = np.random.default_rng(self.seed + self._calls)
        first = rng.uniform(-1.0, 1.0, (self.population, action_size(config.n_uavs, config.n_satellites)))
        first[0] = encode(equal_split(config), config.channels_total)
        algorithm = GA(pop_size=self.population, sampling=first, repair=DecoderRepair(config), eliminate_duplicates=True)
        result = minimize(
            _AllocationProblem(self.config, data_mb, mu),
            algorithm,
            ("n_evals", self.evaluations),
            seed=self.seed + self._calls,
            verbose=False,
        )
        self._calls += 1
        return project(np.asarray(result.X), config.n_uavs, config.n_satellites, config.channels_total)

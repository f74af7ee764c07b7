"""Baseline methods for the evaluation harness: equal split and RA (spec §7)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sb3_ccddpg_envs import Allocation, SatGroundConfig, equal_split, random_allocation


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

"""Reference allocations of spec §7, usable without the environment: equal split and RA (the paper's random algorithm)."""

from __future__ import annotations

import numpy as np

from sb3_ccddpg_envs.config import SatGroundConfig
from sb3_ccddpg_envs.decode import Allocation, action_size, project


def equal_split(config: SatGroundConfig) -> Allocation:
    """The equal-split reference allocation (spec §7).

    ξ_total is apportioned equally (remainder to the lowest indices), UAV i offloads to satellite ``i mod M``
    and each satellite splits its CPU equally among its UAVs (rows sum to 1).

    :param config: system parameters
    :return: one allocation (no batch dimensions)
    """
    n_uavs, n_satellites = config.n_uavs, config.n_satellites
    base, remainder = divmod(config.channels_total, n_uavs)
    channels = base + (np.arange(n_uavs) < remainder).astype(np.int64)
    association = np.arange(n_uavs, dtype=np.int64) % n_satellites
    on_satellite = association == np.arange(n_satellites)[:, None]
    cpu_share = on_satellite / np.maximum(on_satellite.sum(axis=-1, keepdims=True), 1)
    return Allocation(channels, association, cpu_share.astype(np.float64))


def random_allocation(config: SatGroundConfig, rng: np.random.Generator, size: int | tuple[int, ...] = ()) -> Allocation:
    """RA (spec §7): a uniformly random action in the box ``[-1, 1]^(N + M·N)``, decoded by :func:`project`.

    :param config: system parameters
    :param rng: source of randomness
    :param size: batch shape of the allocations to draw
    :return: allocations with batch shape ``size``
    """
    shape = (size,) if isinstance(size, int) else tuple(size)
    actions = rng.uniform(-1.0, 1.0, size=(*shape, action_size(config.n_uavs, config.n_satellites)))
    return project(actions, config.n_uavs, config.n_satellites, config.channels_total)

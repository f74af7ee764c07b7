"""Digital-twin records of the UAVs and satellites (paper eqs 1–2), as the environment mirrors them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class UavTwin:
    """DT of UAV i (eq 1): ``(D_i, ξ_i, P_u, φ_i)``.

    :param data_mb: D_i as the twin sees it (MB); differs from the true size when ``twin_error > 0``
    :param n_channels: ξ_i, channels of the last decided slot (0 before the first decision)
    :param tx_power: P_u (W)
    :param offload_target: index of the satellite the UAV offloaded to in the last slot (-1 before the first)
    """

    data_mb: float
    n_channels: int
    tx_power: float
    offload_target: int


@dataclass(frozen=True)
class SatelliteTwin:
    """DT of satellite j (eq 2): ``(f_j, {DT_i mapped to j}, N_j)``.

    :param cpu_frequency: f_j (Hz)
    :param uav_ids: indices of the UAVs whose twins are mapped to this satellite (N_j is their count)
    """

    cpu_frequency: float
    uav_ids: tuple[int, ...]

    @property
    def n_uavs(self) -> int:
        """N_j, number of UAV twins mapped to this satellite."""
        return len(self.uav_ids)


@dataclass(frozen=True)
class DigitalTwin:
    """Snapshot of the whole twin layer.

    :param uavs: one record per UAV
    :param satellites: one record per satellite
    """

    uavs: tuple[UavTwin, ...]
    satellites: tuple[SatelliteTwin, ...]

    @classmethod
    def mirror(
        cls,
        data_mb: NDArray[np.float64],
        channels: NDArray[np.int64],
        association: NDArray[np.int64],
        tx_power: float,
        cpu_frequency: float,
        n_satellites: int,
    ) -> DigitalTwin:
        """Build the twin from the observed data sizes and the last decided allocation.

        :param data_mb: D_i seen by the twin (MB), shape ``(N,)``
        :param channels: ξ_i, shape ``(N,)`` (zeros before the first decision)
        :param association: satellite index per UAV, shape ``(N,)`` (-1 before the first decision)
        :param tx_power: P_u (W)
        :param cpu_frequency: f_j (Hz)
        :param n_satellites: M
        :return: the twin snapshot
        """
        uavs = tuple(
            UavTwin(float(d), int(c), tx_power, int(a)) for d, c, a in zip(data_mb, channels, association, strict=True)
        )
        satellites = tuple(
            SatelliteTwin(cpu_frequency, tuple(int(i) for i in np.flatnonzero(association == j))) for j in range(n_satellites)
        )
        return cls(uavs, satellites)

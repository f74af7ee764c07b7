"""Digital-twin records of the UAVs and satellites (paper eqs 1–2), as the environment mirrors them, and the
twin's error model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sb3_ccddpg_envs.config import SatGroundConfig


def has_twin_error(config: SatGroundConfig) -> bool:
    """Whether the twin's data sizes can differ from the true ones (some σ_i > 0 or a bias b ≠ 0)."""
    return bool(config.twin_errors.any()) or config.twin_bias != 0.0


def twin_view(config: SatGroundConfig, data_mb: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
    """The data sizes the digital twin sees: ``D_i·(1 + b + σ_i·ε_i)``, ε_i ~ N(0, 1) i.i.d., clipped to the range.

    What it models: the twin's record of each UAV's data is a measurement or a report with a relative error,
    unbiased (b = 0, spec §8) or not, whose size σ_i may differ per UAV (a UAV with a poor link reports
    less accurately); a record cannot leave the range the system is dimensioned for, so it is clipped to
    ``data_mb_range``. Every decision sees this view; the delay and energy are always those of the true D.

    :param config: ``twin_error`` (σ_i), ``twin_bias`` (b) and ``data_mb_range``
    :param data_mb: the true D_i (MB), shape ``(..., N)``
    :param rng: generator of the ε_i (not drawn from when there is no error, so the stream is unchanged)
    :return: the twin's D_i (MB), shaped like ``data_mb``; ``data_mb`` itself when there is no error
    """
    if not has_twin_error(config):
        return data_mb
    low, high = config.data_mb_range
    error = config.twin_bias + config.twin_errors * rng.standard_normal(np.shape(data_mb))
    return np.clip(data_mb * (1.0 + error), low, high)


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

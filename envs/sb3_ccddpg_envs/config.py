"""System-model parameters of ``SatGround-v0`` (spec ``system-model.md`` §2).

Every default is the value the spec fixes; every field is checked in ``__post_init__`` and a bad value raises
:class:`ValueError` naming the field, the value and the allowed range.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

SPEED_OF_LIGHT = 299_792_458.0  # m/s
BOLTZMANN = 1.380649e-23  # J/K
BYTES_PER_MB = 1e6
BITS_PER_MB = 8e6

#: Default of ``reference_n_uavs``: T_max and E_max are the equal split's delay and UAV energy at this many
#: UAVs (spec §5, the paper's fixed scale).
REFERENCE_N_UAVS = 11


def free_space_channel_gain(carrier_hz: float, distance_m: float, tx_gain_dbi: float, rx_gain_dbi: float) -> float:
    """Free-space link gain ``h = G_t G_r (λ / 4π d)²`` (dimensionless).

    :param carrier_hz: carrier frequency (Hz)
    :param distance_m: slant range (m)
    :param tx_gain_dbi: transmit antenna gain (dBi)
    :param rx_gain_dbi: receive antenna gain (dBi)
    :return: power gain h
    """
    wavelength = SPEED_OF_LIGHT / carrier_hz
    antenna_gain = 10.0 ** ((tx_gain_dbi + rx_gain_dbi) / 10.0)
    return antenna_gain * (wavelength / (4.0 * math.pi * distance_m)) ** 2


def thermal_noise_power(bandwidth_hz: float, temperature_k: float = 290.0, noise_figure_db: float = 3.0) -> float:
    """Receiver noise power ``N0 = k T0 B NF`` (W).

    :param bandwidth_hz: noise bandwidth (Hz)
    :param temperature_k: reference temperature T0 (K)
    :param noise_figure_db: receiver noise figure (dB)
    :return: noise power (W)
    """
    return BOLTZMANN * temperature_k * bandwidth_hz * 10.0 ** (noise_figure_db / 10.0)


#: Spec §2 link budget: 2 GHz carrier, 550 km slant range, UAV antenna 3 dBi, satellite antenna 27 dBi.
DEFAULT_CHANNEL_GAIN = free_space_channel_gain(2e9, 550e3, 3.0, 27.0)


@dataclass(frozen=True)
class SatGroundConfig:
    """Parameters of the satellite-ground system model; names follow spec §2, units are SI unless stated.

    :param n_satellites: M, number of identical LEO satellites, integer ≥ 1
    :param n_uavs: N, number of UAVs, integer in [1, channels_total]
    :param channels_total: ξ_total, number of OFDMA uplink channels, integer ≥ 1
    :param channel_bandwidth: B_up, bandwidth of one uplink channel (Hz), > 0
    :param uav_tx_power: P_u, UAV transmit power (W), > 0
    :param hover_power: P_hover, UAV hovering power (W), > 0
    :param cpu_frequency: f_j, CPU frequency of every satellite (Hz), > 0
    :param cycles_per_unit: C_j, CPU cycles to train on one data unit (see ``data_unit``), > 0
    :param capacitance: α_j, effective switched capacitance of the satellite CPU, > 0
    :param block_size_mb: D_B, blockchain block size (MB = 1e6 bytes), ≥ 0
    :param inter_satellite_rate: r_inter, laser inter-satellite link rate (bit/s), > 0
    :param data_mb_range: (low, high) of the uniform per-slot data size D_i (MB), 0 < low ≤ high
    :param data_unit: ``"byte"``: ``cycles_per_unit`` and ``block_cycles_per_unit`` count cycles per byte;
        ``"bit"``: per bit
    :param model_size_mb: ω, size of the local model parameters (MB), ≥ 0
    :param downlink_rate: r_down, rate of the model download (bit/s), > 0
    :param block_producers: M_g, number of block producers, integer in [1, n_satellites]; ``None`` means M
    :param block_cycles_per_unit: f_block, CPU cycles to process one data unit of a block, ≥ 0
    :param eps: ε of eq 7, guards the division by a zero CPU share, > 0
    :param channel_gain: h_i, link power gain (dimensionless, identical for all UAVs), > 0
    :param noise_power: N0 (W), > 0; ``None`` means thermal noise ``k·290 K·channel_bandwidth·3 dB``
    :param energy_model: ``"eq15"`` (satellite energy P_j·T_j of the row total) or ``"eq14"`` (the printed
        right-hand side, each UAV charged at its own share's frequency), spec §4
    :param train_aggregation: ``"sum"`` (eq 7 as printed) or ``"max"`` (a satellite trains its UAVs in parallel)
    :param mu: μ, weight of energy in the objective, in [0, 1]
    :param episode_length: number of time slots per episode, integer ≥ 1
    :param constraint_penalty: reward penalty per violated constraint C6 or C7, ≥ 0
    :param reward_clip: the reward is clipped below at ``-reward_clip``, > 0; ``None`` disables the clip
    :param observe_mu: append μ to the observation and draw it per episode from U[0, 1]
    :param twin_error: σ, relative standard deviation of the digital twin's data-size error, ≥ 0: one σ for every
        UAV, or a sequence of N, one per UAV (spec §8; :func:`~sb3_ccddpg_envs.twin.twin_view` is the error model)
    :param twin_bias: b, relative bias of the twin's data sizes, > −1: the twin sees ``D·(1 + b + σ·ε)``,
        clipped to ``data_mb_range`` (an extension of spec §8, whose model is b = 0)
    :param reference_n_uavs: number of UAVs of the reference equal split that fixes the normalisers T_max, E_max
        and the thresholds of C6/C7 (spec §5, §5a), integer ≥ 1 (at most ``channels_total`` of them are used);
        default 11, the paper's fixed scale so that results for different N compare on one scale; ``None``
        means the configuration's own N (with its own M and ξ_total), what scale sweeps use so that the
        objective and C6/C7 keep their meaning at every size
    """

    n_satellites: int = 3
    n_uavs: int = 11
    channels_total: int = 32
    channel_bandwidth: float = 2e6
    uav_tx_power: float = 1.0
    hover_power: float = 100.0
    cpu_frequency: float = 4e9
    cycles_per_unit: float = 100.0
    capacitance: float = 1e-25
    block_size_mb: float = 15.0
    inter_satellite_rate: float = 1e9
    data_mb_range: tuple[float, float] = (100.0, 1000.0)
    data_unit: Literal["byte", "bit"] = "byte"
    model_size_mb: float = 50.0
    downlink_rate: float = 100e6
    block_producers: int | None = None
    block_cycles_per_unit: float = 100.0
    eps: float = 1e-9
    channel_gain: float = DEFAULT_CHANNEL_GAIN
    noise_power: float | None = None
    energy_model: Literal["eq15", "eq14"] = "eq15"
    train_aggregation: Literal["sum", "max"] = "sum"
    mu: float = 0.5
    episode_length: int = 10
    constraint_penalty: float = 1.0
    reward_clip: float | None = 10.0
    observe_mu: bool = False
    twin_error: float | tuple[float, ...] = 0.0
    twin_bias: float = 0.0
    reference_n_uavs: int | None = REFERENCE_N_UAVS

    def __post_init__(self) -> None:
        _check_int(self, "n_satellites", low=1)
        _check_int(self, "channels_total", low=1)
        _check_int(self, "n_uavs", low=1, high=self.channels_total, high_name="channels_total")
        for name in (
            "channel_bandwidth",
            "uav_tx_power",
            "hover_power",
            "cpu_frequency",
            "cycles_per_unit",
            "capacitance",
            "inter_satellite_rate",
            "downlink_rate",
            "eps",
            "channel_gain",
        ):
            _check_float(self, name, low=0.0, low_open=True)
        for name in ("block_size_mb", "model_size_mb", "block_cycles_per_unit", "constraint_penalty"):
            _check_float(self, name, low=0.0)
        _check_twin_error(self)
        _check_float(self, "twin_bias", low=-1.0, low_open=True)
        _check_float(self, "mu", low=0.0, high=1.0)
        _check_int(self, "episode_length", low=1)
        if self.noise_power is not None:
            _check_float(self, "noise_power", low=0.0, low_open=True)
        if self.reward_clip is not None:
            _check_float(self, "reward_clip", low=0.0, low_open=True)
        if self.reference_n_uavs is not None:
            _check_int(self, "reference_n_uavs", low=1)
        if self.block_producers is not None:
            _check_int(self, "block_producers", low=1, high=self.n_satellites, high_name="n_satellites")
        _check_choice(self, "data_unit", ("byte", "bit"))
        _check_choice(self, "energy_model", ("eq15", "eq14"))
        _check_choice(self, "train_aggregation", ("sum", "max"))
        if not isinstance(self.observe_mu, bool):
            raise ValueError(f"observe_mu must be a bool, got {self.observe_mu!r}")
        _check_data_range(self.data_mb_range)
        # Normalise the range to a tuple of floats so that configs compare and hash by value.
        object.__setattr__(self, "data_mb_range", (float(self.data_mb_range[0]), float(self.data_mb_range[1])))

    @property
    def twin_errors(self) -> NDArray[np.float64]:
        """σ_i of every UAV's twin error, shape ``(N,)``."""
        return np.broadcast_to(np.asarray(self.twin_error, dtype=np.float64), (self.n_uavs,)).copy()

    @property
    def effective_noise_power(self) -> float:
        """N0 in W: ``noise_power`` or, when it is ``None``, thermal noise over one channel."""
        return thermal_noise_power(self.channel_bandwidth) if self.noise_power is None else self.noise_power

    @property
    def effective_block_producers(self) -> int:
        """M_g: ``block_producers`` or, when it is ``None``, every satellite."""
        return self.n_satellites if self.block_producers is None else self.block_producers

    @property
    def effective_reference_n_uavs(self) -> int:
        """UAVs of the reference equal split: ``reference_n_uavs`` (or N when ``None``), at most ξ_total."""
        reference = self.n_uavs if self.reference_n_uavs is None else self.reference_n_uavs
        return min(reference, self.channels_total)

    @property
    def units_per_mb(self) -> float:
        """Data units per MB that ``cycles_per_unit`` counts: 1e6 bytes or 8e6 bits."""
        return BYTES_PER_MB if self.data_unit == "byte" else BITS_PER_MB

    @property
    def channel_rate(self) -> float:
        """Rate of one uplink channel ``B_up log2(1 + h P_u / N0)`` (bit/s), eq 3 with ξ_i = 1."""
        snr = self.channel_gain * self.uav_tx_power / self.effective_noise_power
        return self.channel_bandwidth * math.log2(1.0 + snr)

    def replace(self, **changes: Any) -> SatGroundConfig:
        """Return a copy with ``changes`` applied, validated like a new config."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the user-settable fields, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _check_int(config: SatGroundConfig, name: str, low: int, high: int | None = None, high_name: str = "") -> None:
    value = getattr(config, name)
    upper = "" if high is None else f", at most {high_name} = {high}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer ≥ {low}{upper}, got {value!r}")
    if int(value) < low or (high is not None and int(value) > high):
        raise ValueError(f"{name} must be an integer ≥ {low}{upper}, got {value!r}")
    object.__setattr__(config, name, int(value))


def _check_float(config: SatGroundConfig, name: str, low: float, high: float | None = None, low_open: bool = False) -> None:
    value = getattr(config, name)
    bracket = "(" if low_open else "["
    allowed = f"{bracket}{low}, {'inf)' if high is None else f'{high}]'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number in {allowed}, got {value!r}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    if not math.isfinite(number) or too_low or (high is not None and number > high):
        raise ValueError(f"{name} must be a finite number in {allowed}, got {value!r}")
    object.__setattr__(config, name, number)


def _check_twin_error(config: SatGroundConfig) -> None:
    """``twin_error``: one finite σ ≥ 0, or N of them (normalised to a float or a tuple of floats)."""
    value = config.twin_error
    allowed = f"a finite number ≥ 0 or a sequence of n_uavs = {config.n_uavs} of them"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        _check_float(config, "twin_error", low=0.0)
        return
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"twin_error must be {allowed}, got {value!r}")
    if len(value) != config.n_uavs:
        raise ValueError(f"twin_error must be {allowed}, got {value!r} ({len(value)} values)")
    for sigma in value:
        if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not math.isfinite(sigma) or sigma < 0:
            raise ValueError(f"twin_error must be {allowed}, got {value!r} (holding {sigma!r})")
    object.__setattr__(config, "twin_error", tuple(float(sigma) for sigma in value))


def _check_choice(config: SatGroundConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_data_range(value: object) -> None:
    message = f"data_mb_range must be a pair (low, high) of finite numbers with 0 < low ≤ high (MB), got {value!r}"
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(message)
    low, high = value
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) for v in (low, high)):
        raise ValueError(message)
    if not 0 < low <= high:
        raise ValueError(message)

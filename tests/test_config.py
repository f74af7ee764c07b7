"""Validation of :class:`SatGroundConfig`: every field's bad value raises a ValueError naming it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sb3_ccddpg_envs import SatGroundConfig

BAD_VALUES: list[tuple[str, Any]] = [
    ("n_satellites", 0),
    ("n_satellites", 2.5),
    ("n_satellites", True),
    ("n_uavs", 0),
    ("n_uavs", 33),
    ("channels_total", 0),
    ("channel_bandwidth", 0.0),
    ("channel_bandwidth", math.inf),
    ("uav_tx_power", -1.0),
    ("hover_power", 0.0),
    ("cpu_frequency", math.nan),
    ("cycles_per_unit", 0.0),
    ("capacitance", -1e-25),
    ("block_size_mb", -1.0),
    ("inter_satellite_rate", 0.0),
    ("data_mb_range", (0.0, 1000.0)),
    ("data_mb_range", (500.0, 100.0)),
    ("data_mb_range", (100.0,)),
    ("data_mb_range", "100-1000"),
    ("data_unit", "kilobyte"),
    ("model_size_mb", -50.0),
    ("downlink_rate", -1.0),
    ("block_producers", 0),
    ("block_producers", 4),
    ("block_cycles_per_unit", -1.0),
    ("eps", 0.0),
    ("channel_gain", 0.0),
    ("noise_power", 0.0),
    ("energy_model", "eq16"),
    ("train_aggregation", "mean"),
    ("mu", -0.1),
    ("mu", 1.01),
    ("mu", "0.5"),
    ("episode_length", 0),
    ("constraint_penalty", -1.0),
    ("reward_clip", 0.0),
    ("observe_mu", 1),
    ("twin_error", -0.1),
    ("twin_error", math.nan),
    ("twin_error", (0.1, 0.2)),  # not one per UAV (N = 11)
    ("twin_error", (0.1,) * 10 + (-0.1,)),
    ("twin_error", "0.1"),
    ("twin_bias", -1.0),
    ("twin_bias", math.nan),
    ("reference_n_uavs", 0),
    ("reference_n_uavs", 2.5),
]


def test_every_field_has_a_bad_value_case() -> None:
    assert {name for name, _ in BAD_VALUES} == set(SatGroundConfig.field_names())


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_value_raises_naming_the_field(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be") as error:
        SatGroundConfig(**{name: value})
    assert repr(value) in str(error.value)


def test_messages_give_the_allowed_range() -> None:
    with pytest.raises(ValueError, match=r"mu must be a finite number in \[0.0, 1.0\], got 2"):
        SatGroundConfig(mu=2)
    with pytest.raises(ValueError, match=r"uav_tx_power must be a finite number in \(0.0, inf\)"):
        SatGroundConfig(uav_tx_power=0)
    with pytest.raises(ValueError, match=r"block_producers must be an integer ≥ 1, at most n_satellites = 3"):
        SatGroundConfig(block_producers=5)


def test_defaults_and_derived_values_match_the_spec() -> None:
    config = SatGroundConfig()
    assert (config.n_satellites, config.n_uavs, config.channels_total) == (3, 11, 32)
    assert config.channel_gain == pytest.approx(4.7037e-13, rel=1e-4)
    assert config.effective_noise_power == pytest.approx(1.5978e-14, rel=1e-4)
    assert config.channel_rate == pytest.approx(9.8557e6, rel=1e-5)
    assert config.effective_block_producers == 3
    assert config.units_per_mb == 1e6 and config.replace(data_unit="bit").units_per_mb == 8e6


def test_numpy_scalars_are_accepted_and_coerced() -> None:
    config = SatGroundConfig(n_uavs=np.int64(6), mu=np.float32(0.25), data_mb_range=[100, 900])
    assert type(config.n_uavs) is int and type(config.mu) is float
    assert config.data_mb_range == (100.0, 900.0)
    assert hash(config) == hash(SatGroundConfig(n_uavs=6, mu=0.25, data_mb_range=(100.0, 900.0)))


def test_replace_validates() -> None:
    with pytest.raises(ValueError, match="n_uavs must be an integer"):
        SatGroundConfig().replace(channels_total=8)


def test_twin_error_is_one_sigma_or_one_per_uav() -> None:
    assert SatGroundConfig(n_uavs=3, twin_error=0.2).twin_errors.tolist() == [0.2, 0.2, 0.2]
    per_uav = SatGroundConfig(n_uavs=3, twin_error=[0.0, 0.1, np.float32(0.5)])
    assert per_uav.twin_error == (0.0, 0.1, 0.5) and per_uav.twin_errors.tolist() == [0.0, 0.1, 0.5]
    assert hash(per_uav) == hash(SatGroundConfig(n_uavs=3, twin_error=(0.0, 0.1, 0.5)))

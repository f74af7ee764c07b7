"""Cost model (spec ``system-model.md`` §2–5, §9, §10) cross-checked against an independent scalar re-implementation.

``_scalar_cost`` below is written from the spec's formulas only, term by term, with Python floats, loops and
``math``; it shares no code with ``sb3_ccddpg_envs.cost``. The tests compare it with the vectorised
``allocation_cost`` on the spec's check vector and on hypothesis-generated instances, check that batched
evaluation equals one-by-one evaluation, and check a few directional properties the spec states.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sb3_ccddpg_envs import (
    Allocation,
    SatGroundConfig,
    allocation_cost,
    equal_split,
    random_allocation,
    reference_normalisers,
)

# Physical constants of the spec §2 link budget (written out here, not imported from the project).
SPEED_OF_LIGHT = 299_792_458.0  # m/s
BOLTZMANN = 1.380649e-23  # J/K

BITS_PER_MB = 8e6  # communication always moves 8e6 bits per MB (spec §1)
REFERENCE_N_UAVS = 11  # spec §5: normalisers are the equal split at N = 11 ...
REFERENCE_DATA_MB = 1000.0  # ... with every D_i = 1000 MB

REL = 1e-9  # implementation vs scalar reference

SCALAR_KEYS = ("T_inter", "T_down", "T_train", "T_block", "T_total", "E_com", "E_hover", "E_UAV", "E_total", "objective", "mu")
VECTOR_KEYS = ("data_mb", "T_up", "E_cmp", "rho")
INT_KEYS = ("channels", "association")
BOOL_KEYS = ("C6_ok", "C7_ok")
ALL_KEYS = (
    "data_mb",
    "channels",
    "association",
    "rho",
    "T_up",
    "T_inter",
    "T_down",
    "T_train",
    "T_block",
    "T_total",
    "E_com",
    "E_hover",
    "E_UAV",
    "E_cmp",
    "E_total",
    "objective",
    "C6_ok",
    "C7_ok",
    "mu",
)

# ----------------------------------------------------------------------------------------------------------------
# Scalar reference implementation (spec §2–5)
# ----------------------------------------------------------------------------------------------------------------


def _link_gain(carrier_hz: float, distance_m: float, tx_dbi: float, rx_dbi: float) -> float:
    """Free-space gain ``G_t G_r (λ / 4π d)²`` (spec §2, ``channel_gain``)."""
    wavelength = SPEED_OF_LIGHT / carrier_hz
    return 10.0 ** (tx_dbi / 10.0) * 10.0 ** (rx_dbi / 10.0) * (wavelength / (4.0 * math.pi * distance_m)) ** 2


def _thermal_noise(bandwidth_hz: float) -> float:
    """``k · 290 K · B · NF`` with NF = 3 dB (spec §2, ``noise_power``)."""
    return BOLTZMANN * 290.0 * bandwidth_hz * 10.0 ** (3.0 / 10.0)


def _noise(config: SatGroundConfig) -> float:
    """N0 in W: the configured value or thermal noise over one channel."""
    return _thermal_noise(config.channel_bandwidth) if config.noise_power is None else config.noise_power


def _snr(config: SatGroundConfig) -> float:
    """Linear SNR ``h P_u / N0`` of one UAV."""
    return config.channel_gain * config.uav_tx_power / _noise(config)


def _channel_rate(config: SatGroundConfig) -> float:
    """Rate of one channel ``B_up log2(1 + SNR)`` in bit/s (eq 3 with ξ = 1)."""
    return config.channel_bandwidth * math.log2(1.0 + _snr(config))


def _units(config: SatGroundConfig) -> float:
    """Data units per MB counted by ``cycles_per_unit``: 1e6 bytes or 8e6 bits (spec §1)."""
    return {"byte": 1e6, "bit": 8e6}[config.data_unit]


def _scalar_terms(
    config: SatGroundConfig,
    data_mb: Sequence[float],
    channels: Sequence[int],
    association: Sequence[int],
    rho: Sequence[Sequence[float]],
    aggregation: str | None = None,
) -> dict[str, Any]:
    """Every delay and energy term of spec §3–4 for one allocation, with plain floats and loops.

    ``aggregation`` overrides ``config.train_aggregation`` (the normalisers always use ``"sum"``).
    """
    n = len(data_mb)
    m = config.n_satellites
    units = _units(config)
    f = config.cpu_frequency
    c = config.cycles_per_unit
    aggregation = config.train_aggregation if aggregation is None else aggregation
    producers = m if config.block_producers is None else config.block_producers

    # eq 3-4: uplink.
    r_ch = _channel_rate(config)
    t_up = [BITS_PER_MB * float(data_mb[i]) / (int(channels[i]) * r_ch) for i in range(n)]

    # eq 5: inter-satellite exchange of models and blocks.
    n_per_sat = [0] * m
    for i in range(n):
        n_per_sat[int(association[i])] += 1
    t_inter = (
        math.log2(m) * BITS_PER_MB * config.model_size_mb * max(n_per_sat) / config.inter_satellite_rate
        + math.log2(producers) * BITS_PER_MB * config.block_size_mb / config.inter_satellite_rate
    )
    t_down = BITS_PER_MB * config.model_size_mb / config.downlink_rate
    t_trans = max(t_up) + t_inter + t_down  # eq 6

    # eq 7: training; a satellite without UAVs takes no time.
    per_sat_train = []
    for j in range(m):
        times = [
            float(data_mb[i]) * units * c / ((float(rho[j][i]) + config.eps) * f) for i in range(n) if association[i] == j
        ]
        if not times:
            per_sat_train.append(0.0)
        elif aggregation == "sum":
            per_sat_train.append(math.fsum(times))
        else:
            per_sat_train.append(max(times))
    t_train = max(per_sat_train)

    t_block = max(units * config.block_size_mb * config.block_cycles_per_unit / f for _ in range(m))  # eq 8
    t_total = t_trans + t_train + t_block  # eq 9-10

    # eq 11-13: UAV energy.
    e_com = math.fsum(config.uav_tx_power * t_up[i] for i in range(n))
    e_hover = math.fsum(config.hover_power * t_total for _ in range(n))
    e_uav = e_com + e_hover

    # eq 14 / 15: satellite compute energy over the UAVs associated to each satellite.
    e_cmp = []
    for j in range(m):
        mine = [i for i in range(n) if association[i] == j]
        if config.energy_model == "eq15":
            volume = units * math.fsum(float(data_mb[i]) for i in mine)
            freq = math.fsum(float(rho[j][i]) for i in mine) * f
            e_cmp.append(config.capacitance * c * volume * freq**2)
        else:
            e_cmp.append(
                math.fsum(config.capacitance * c * units * float(data_mb[i]) * (float(rho[j][i]) * f) ** 2 for i in mine)
            )
    e_total = e_uav + math.fsum(e_cmp)  # eq 16

    return {
        "T_up": t_up,
        "T_inter": t_inter,
        "T_down": t_down,
        "T_train": t_train,
        "T_block": t_block,
        "T_total": t_total,
        "E_com": e_com,
        "E_hover": e_hover,
        "E_UAV": e_uav,
        "E_cmp": e_cmp,
        "E_total": e_total,
    }


def _scalar_equal_split(n: int, m: int, channels_total: int) -> tuple[list[int], list[int], list[list[float]]]:
    """Spec §7 equal split: channels equal (remainder to low indices), UAV i on i mod M, equal row shares."""
    base, extra = divmod(channels_total, n)
    channels = [base + (1 if i < extra else 0) for i in range(n)]
    association = [i % m for i in range(n)]
    counts = [association.count(j) for j in range(m)]
    rho = [[1.0 / counts[j] if association[i] == j else 0.0 for i in range(n)] for j in range(m)]
    return channels, association, rho


def _scalar_normalisers(config: SatGroundConfig) -> tuple[float, float]:
    """Spec §5: T_max = T_total and E_max = E_UAV of the equal split at N = 11, D_i = 1000 MB, ``"sum"`` eq 7."""
    channels, association, rho = _scalar_equal_split(REFERENCE_N_UAVS, config.n_satellites, config.channels_total)
    terms = _scalar_terms(config, [REFERENCE_DATA_MB] * REFERENCE_N_UAVS, channels, association, rho, aggregation="sum")
    return terms["T_total"], terms["E_UAV"]


def _scalar_cost(
    config: SatGroundConfig,
    data_mb: Sequence[float],
    channels: Sequence[int],
    association: Sequence[int],
    rho: Sequence[Sequence[float]],
    mu: float | None,
) -> dict[str, Any]:
    """Every key of spec §10 for one allocation: the terms of §3–4 plus objective and C6/C7 of §5."""
    mu = config.mu if mu is None else float(mu)
    terms = _scalar_terms(config, data_mb, channels, association, rho)
    t_max, e_max = _scalar_normalisers(config)
    objective = (1.0 - mu) * terms["T_total"] / t_max + mu * terms["E_total"] / e_max  # eq 17
    return {
        "data_mb": [float(d) for d in data_mb],
        "channels": [int(x) for x in channels],
        "association": [int(a) for a in association],
        "rho": [[float(v) for v in row] for row in rho],
        **terms,
        "objective": objective,
        "C6_ok": terms["T_total"] <= 2.0 * t_max,
        "C7_ok": terms["E_UAV"] <= 2.0 * e_max,
        "mu": mu,
    }


# ----------------------------------------------------------------------------------------------------------------
# Comparison helpers
# ----------------------------------------------------------------------------------------------------------------


def _assert_close(name: str, actual: float, expected: float, rel: float = REL) -> None:
    """Relative comparison; exact zeros must stay zero."""
    message = f"{name}: implementation {actual!r} != reference {expected!r}"
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=0.0), message


def _near_threshold(value: float, threshold: float) -> bool:
    """Whether a constraint flag is within rounding of its threshold (then either answer is acceptable)."""
    return abs(value - threshold) <= 1e-9 * abs(threshold)


def _assert_matches_reference(result: dict[str, Any], ref: dict[str, Any], config: SatGroundConfig) -> None:
    """Every §10 key of one ``allocation_cost`` result equals the scalar reference (shape, dtype kind, value)."""
    n = len(ref["data_mb"])
    m = config.n_satellites
    assert set(ALL_KEYS) <= set(result), f"missing keys: {set(ALL_KEYS) - set(result)}"
    shapes = {"data_mb": (n,), "channels": (n,), "association": (n,), "rho": (m, n), "T_up": (n,), "E_cmp": (m,)}
    for key in ALL_KEYS:
        arr = np.asarray(result[key])
        assert arr.shape == shapes.get(key, ()), f"{key}: shape {arr.shape}"
    for key in INT_KEYS:
        arr = np.asarray(result[key])
        assert arr.dtype.kind in "iu", f"{key}: dtype {arr.dtype}"
        assert arr.tolist() == ref[key], f"{key}: {arr.tolist()} != {ref[key]}"
    for key in ("data_mb", "T_up", "E_cmp"):
        for idx, (a, e) in enumerate(zip(np.asarray(result[key], dtype=float).tolist(), ref[key], strict=True)):
            _assert_close(f"{key}[{idx}]", a, e)
    for j, (row_a, row_e) in enumerate(zip(np.asarray(result["rho"], dtype=float).tolist(), ref["rho"], strict=True)):
        for i, (a, e) in enumerate(zip(row_a, row_e, strict=True)):
            _assert_close(f"rho[{j},{i}]", a, e)
    for key in SCALAR_KEYS:
        _assert_close(key, float(np.asarray(result[key])), ref[key])
    t_max, e_max = _scalar_normalisers(config)
    for key, value, threshold in (("C6_ok", ref["T_total"], 2.0 * t_max), ("C7_ok", ref["E_UAV"], 2.0 * e_max)):
        arr = np.asarray(result[key])
        assert arr.dtype == np.bool_, f"{key}: dtype {arr.dtype}"
        if not _near_threshold(value, threshold):
            assert bool(arr) == ref[key], f"{key}: {bool(arr)} != {ref[key]} (value {value!r}, threshold {threshold!r})"


def _allocation(channels: Sequence[int], association: Sequence[int], rho: Sequence[Sequence[float]]) -> Allocation:
    """Wrap plain lists into the project's ``Allocation``."""
    return Allocation(
        np.asarray(channels, dtype=np.int64), np.asarray(association, dtype=np.int64), np.asarray(rho, dtype=np.float64)
    )


# ----------------------------------------------------------------------------------------------------------------
# Spec §2 derived values and §5 normalisers
# ----------------------------------------------------------------------------------------------------------------

CHECK_D = [100.0, 250.0, 400.0, 550.0, 700.0, 1000.0]
CHECK_XI = [3, 4, 5, 6, 6, 8]
CHECK_A = [0, 1, 2, 0, 1, 2]
CHECK_RHO = [
    [0.3, 0.0, 0.0, 0.6, 0.0, 0.0],
    [0.0, 0.5, 0.0, 0.0, 0.5, 0.0],
    [0.0, 0.0, 0.2, 0.0, 0.0, 0.7],
]


def test_spec_derived_values() -> None:
    """Spec §2 derived check values, from the scalar link budget and from the config's properties."""
    config = SatGroundConfig()
    gain = _link_gain(2e9, 550e3, 3.0, 27.0)
    assert gain == pytest.approx(4.7037e-13, rel=1e-4)
    assert config.channel_gain == pytest.approx(gain, rel=1e-12)
    n0 = _thermal_noise(2e6)
    assert n0 == pytest.approx(1.5978e-14, rel=1e-4)
    assert config.noise_power is None
    assert config.effective_noise_power == pytest.approx(n0, rel=1e-12)
    snr = _snr(config)
    assert snr == pytest.approx(29.439, rel=2e-5)
    assert 10.0 * math.log10(snr) == pytest.approx(14.69, abs=5e-3)
    assert _channel_rate(config) == pytest.approx(9.8557e6, rel=1e-5)
    assert config.channel_rate == pytest.approx(_channel_rate(config), rel=1e-12)
    assert 1e6 * config.cycles_per_unit / config.cpu_frequency == pytest.approx(0.025, rel=1e-12)
    assert config.capacitance * config.cpu_frequency**3 == pytest.approx(6400.0, rel=1e-12)
    assert config.units_per_mb == 1e6
    assert config.replace(data_unit="bit").units_per_mb == 8e6
    assert config.effective_block_producers == 3
    assert config.replace(block_producers=2).effective_block_producers == 2


def test_reference_normalisers_default() -> None:
    """Spec §5: T_max = 812.957 s and E_max = 897 364.48 J, equal to the scalar equal split at N = 11."""
    config = SatGroundConfig()
    t_max, e_max = _scalar_normalisers(config)
    assert t_max == pytest.approx(812.957, abs=5e-4)
    assert e_max == pytest.approx(897_364.48, abs=5e-3)
    impl_t, impl_e = reference_normalisers(config)
    assert impl_t == pytest.approx(t_max, rel=1e-12)
    assert impl_e == pytest.approx(e_max, rel=1e-12)


@pytest.mark.parametrize(
    "changes",
    [
        {"n_uavs": 6, "mu": 0.1},
        {"energy_model": "eq14"},
        {"train_aggregation": "max"},
        {"data_unit": "bit"},
        {"n_satellites": 1},
        {"n_satellites": 4, "block_producers": 2},
        {"channels_total": 40, "model_size_mb": 0.0, "block_size_mb": 0.0},
    ],
)
def test_reference_normalisers_follow_spec(changes: dict[str, Any]) -> None:
    """T_max/E_max are fixed across N, μ, energy model and aggregation and follow the system parameters."""
    config = SatGroundConfig().replace(**changes)
    impl_t, impl_e = reference_normalisers(config)
    t_max, e_max = _scalar_normalisers(config)
    assert impl_t == pytest.approx(t_max, rel=1e-12)
    assert impl_e == pytest.approx(e_max, rel=1e-12)
    if set(changes) <= {"n_uavs", "mu", "energy_model", "train_aggregation"}:
        assert (impl_t, impl_e) == pytest.approx(reference_normalisers(SatGroundConfig()), rel=1e-12)


def test_normaliser_point_scores_one() -> None:
    """The equal split at N = 11, D = 1000 MB has T_total = T_max and E_UAV = E_max in allocation_cost itself."""
    config = SatGroundConfig(n_uavs=11, mu=0.0)
    result = allocation_cost(config, np.full(11, REFERENCE_DATA_MB), equal_split(config))
    t_max, e_max = reference_normalisers(config)
    assert float(result["T_total"]) == pytest.approx(t_max, rel=1e-12)
    assert float(result["E_UAV"]) == pytest.approx(e_max, rel=1e-12)
    assert float(result["objective"]) == pytest.approx(1.0, rel=1e-12)
    assert bool(result["C6_ok"]) and bool(result["C7_ok"])


@given(n=st.integers(1, 16), m=st.integers(1, 5), extra=st.integers(0, 30))
@settings(max_examples=200, deadline=None)
def test_equal_split_matches_spec(n: int, m: int, extra: int) -> None:
    """``equal_split`` is the spec §7 allocation."""
    config = SatGroundConfig(n_uavs=n, n_satellites=m, channels_total=n + extra)
    channels, association, rho = _scalar_equal_split(n, m, n + extra)
    alloc = equal_split(config)
    assert np.asarray(alloc.channels).tolist() == channels
    assert np.asarray(alloc.association).tolist() == association
    np.testing.assert_allclose(np.asarray(alloc.cpu_share), np.asarray(rho), rtol=1e-15, atol=0.0)


# ----------------------------------------------------------------------------------------------------------------
# Spec §9 check vector
# ----------------------------------------------------------------------------------------------------------------

CHECK_COMMON = {
    "T_up": ([27.0571, 50.7320, 64.9370, 74.4069, 94.6997, 101.4640], 5e-5),
    "T_inter": (1.4582, 5e-5),
    "T_down": (4.0, 1e-12),
    "T_train": (85.7143, 5e-5),
    "T_block": (0.375, 1e-12),
    "T_total": (193.0115, 5e-5),
    "E_com": (413.2968, 5e-5),
    "E_hover": (115_806.88, 5e-3),
    "E_UAV": (116_220.18, 5e-3),
}
CHECK_BY_MODEL = {
    "eq15": {"E_cmp": ([84_240.0, 152_000.0, 181_440.0], 1e-12), "E_total": (533_900.18, 5e-3), "objective": (0.4162, 5e-5)},
    "eq14": {"E_cmp": ([33_120.0, 38_000.0, 80_960.0], 1e-12), "E_total": (268_300.18, 5e-3), "objective": (0.2682, 5e-5)},
}


def _assert_printed(name: str, value: Any, printed: Any, half_ulp: float) -> None:
    """``value`` rounds to the spec's printed number: absolute error ≤ half a unit of the last printed digit.

    Exact printed values (T_down, T_block, E_cmp) carry ``half_ulp = 1e-12`` and are compared relatively.
    """
    values = np.atleast_1d(np.asarray(value, dtype=float)).tolist()
    expected = list(np.atleast_1d(np.asarray(printed, dtype=float)))
    assert len(values) == len(expected), name
    for v, e in zip(values, expected, strict=True):
        if half_ulp == 1e-12:
            assert v == pytest.approx(e, rel=1e-12), f"{name}: {v!r} != {e!r}"
        else:
            assert abs(v - e) <= half_ulp * (1.0 + 1e-9), f"{name}: {v!r} does not round to printed {e!r}"


@pytest.mark.parametrize("energy_model", ["eq15", "eq14"])
def test_check_vector(energy_model: str) -> None:
    """Spec §9 check vector (μ = 0.5, defaults) for both energy models: scalar reference and implementation."""
    config = SatGroundConfig(n_uavs=6, energy_model=energy_model)
    ref = _scalar_cost(config, CHECK_D, CHECK_XI, CHECK_A, CHECK_RHO, 0.5)
    result = allocation_cost(config, np.asarray(CHECK_D), _allocation(CHECK_XI, CHECK_A, CHECK_RHO), mu=0.5)
    expected = {**CHECK_COMMON, **CHECK_BY_MODEL[energy_model]}
    for key, (printed, half_ulp) in expected.items():
        _assert_printed(f"reference {key}", ref[key], printed, half_ulp)
        _assert_printed(f"implementation {key}", result[key], printed, half_ulp)
    assert ref["C6_ok"] and ref["C7_ok"]
    _assert_matches_reference(result, ref, config)
    # mu=None means config.mu (= 0.5 here).
    default_mu = allocation_cost(config, np.asarray(CHECK_D), _allocation(CHECK_XI, CHECK_A, CHECK_RHO))
    _assert_matches_reference(default_mu, ref, config)


# ----------------------------------------------------------------------------------------------------------------
# Random instances vs the scalar reference
# ----------------------------------------------------------------------------------------------------------------

# CPU shares: exact 0 and 1 plus the open range; below ~1e-140 the satellite energy underflows into subnormals.
SHARE = st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-100, 1.0))


@st.composite
def configs(draw: st.DrawFn, n: int, m: int) -> SatGroundConfig:
    """A config for N UAVs and M satellites with random model options and, half the time, random physics.

    ``channels_total`` is at least 11 so that the N = 11 equal split of the normalisers (spec §5) is feasible;
    it does not enter the cost of a given allocation otherwise.
    """
    fields: dict[str, Any] = {
        "n_uavs": n,
        "n_satellites": m,
        "channels_total": draw(st.integers(max(n, REFERENCE_N_UAVS), 40)),
        "energy_model": draw(st.sampled_from(["eq15", "eq14"])),
        "train_aggregation": draw(st.sampled_from(["sum", "max"])),
        "data_unit": draw(st.sampled_from(["byte", "bit"])),
        "block_producers": draw(st.one_of(st.none(), st.integers(1, m))),
        "mu": draw(st.floats(0.0, 1.0)),
    }
    if draw(st.booleans()):
        positive = st.floats(0.1, 10.0)
        fields.update(
            channel_bandwidth=2e6 * draw(positive),
            uav_tx_power=draw(positive),
            hover_power=100.0 * draw(positive),
            cpu_frequency=4e9 * draw(positive),
            cycles_per_unit=100.0 * draw(positive),
            capacitance=1e-25 * draw(positive),
            block_size_mb=draw(st.one_of(st.just(0.0), st.floats(0.0, 50.0))),
            inter_satellite_rate=1e9 * draw(positive),
            model_size_mb=draw(st.one_of(st.just(0.0), st.floats(0.0, 200.0))),
            downlink_rate=1e8 * draw(positive),
            block_cycles_per_unit=draw(st.floats(0.0, 500.0)),
            eps=draw(st.sampled_from([1e-9, 1e-6, 1e-3])),
            channel_gain=4.7037e-13 * draw(positive),
            noise_power=draw(st.one_of(st.none(), st.floats(1e-15, 1e-13))),
        )
    return SatGroundConfig(**fields)


@st.composite
def instances(draw: st.DrawFn) -> tuple[SatGroundConfig, list[float], list[int], list[int], list[list[float]], float | None]:
    """(config, D, ξ, association, ρ, μ) with integer ξ_i ≥ 1, Σ ξ ≤ ξ_total, row sums of ρ ≤ 1, ρ = 0 off-association."""
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 4))
    config = draw(configs(n, m))
    low, high = config.data_mb_range
    data = draw(st.lists(st.floats(low, high), min_size=n, max_size=n))
    budget = config.channels_total - n
    extras = draw(st.lists(st.integers(0, budget), min_size=n, max_size=n))
    channels = []
    for e in extras:
        take = min(e, budget)
        budget -= take
        channels.append(1 + take)
    association = draw(st.lists(st.integers(0, m - 1), min_size=n, max_size=n))
    shares = draw(st.lists(SHARE, min_size=n, max_size=n))
    rho = [[shares[i] if association[i] == j else 0.0 for i in range(n)] for j in range(m)]
    for row in rho:
        total = math.fsum(row)
        if total > 1.0:
            row[:] = [v / total for v in row]
    mu = draw(st.one_of(st.none(), st.floats(0.0, 1.0)))
    return config, data, channels, association, rho, mu


@given(instances())
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_allocation_cost_matches_scalar_reference(
    instance: tuple[SatGroundConfig, list[float], list[int], list[int], list[list[float]], float | None],
) -> None:
    """Every §10 key of ``allocation_cost`` equals the scalar reference to 1e-9 relative."""
    config, data, channels, association, rho, mu = instance
    assert sum(channels) <= config.channels_total and min(channels) >= 1
    assert all(math.fsum(row) <= 1.0 + 1e-9 for row in rho)
    result = allocation_cost(config, np.asarray(data), _allocation(channels, association, rho), mu=mu)
    _assert_matches_reference(result, _scalar_cost(config, data, channels, association, rho, mu), config)


# ----------------------------------------------------------------------------------------------------------------
# Batched evaluation equals one-by-one evaluation
# ----------------------------------------------------------------------------------------------------------------


def _random_batch(config: SatGroundConfig, rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, Allocation]:
    """Random data sizes and allocations of batch ``shape``, with some CPU shares zeroed."""
    low, high = config.data_mb_range
    data = rng.uniform(low, high, size=(*shape, config.n_uavs))
    alloc = random_allocation(config, rng, shape)
    share = np.asarray(alloc.cpu_share, dtype=np.float64).copy()
    share[rng.random(share.shape) < 0.1] = 0.0
    return data, Allocation(np.asarray(alloc.channels), np.asarray(alloc.association), share)


def _index(alloc: Allocation, idx: tuple[int, ...]) -> Allocation:
    """One element of a batched allocation."""
    return Allocation(np.asarray(alloc.channels)[idx], np.asarray(alloc.association)[idx], np.asarray(alloc.cpu_share)[idx])


@given(
    n=st.integers(1, 12),
    m=st.integers(1, 4),
    shape=st.sampled_from([(), (1,), (7,), (16,), (3, 4), (2, 1, 3)]),
    mu_kind=st.sampled_from(["none", "scalar", "batched"]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_batched_equals_one_by_one(
    n: int, m: int, shape: tuple[int, ...], mu_kind: str, seed: int, data: st.DataObject
) -> None:
    """A batch evaluated in one call equals each element evaluated alone, for every key."""
    config = data.draw(configs(n, m))
    rng = np.random.default_rng(seed)
    batch_data, alloc = _random_batch(config, rng, shape)
    mu: Any = {"none": None, "scalar": float(rng.random()), "batched": rng.random(shape)}[mu_kind]
    batched = allocation_cost(config, batch_data, alloc, mu=mu)
    for key in ALL_KEYS:
        assert np.asarray(batched[key]).shape[: len(shape)] == shape, key
    singles = []
    for idx in np.ndindex(*shape):
        mu_one = mu[idx] if mu_kind == "batched" else mu
        singles.append(allocation_cost(config, batch_data[idx], _index(alloc, idx), mu=mu_one))
    for key in ALL_KEYS:
        got = np.asarray(batched[key])
        want = np.stack([np.asarray(single[key]) for single in singles])
        assert want.shape[1:] == got.shape[len(shape) :], f"{key}: single {want.shape[1:]} vs batched {got.shape}"
        want = want.reshape(got.shape)
        assert got.dtype.kind == want.dtype.kind, f"{key}: {got.dtype} vs {want.dtype}"
        if got.dtype.kind in "iub":
            assert np.array_equal(got, want), f"{key}: batched {got} != one-by-one {want}"
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0, err_msg=key)


@given(n=st.integers(1, 12), m=st.integers(1, 4), seed=st.integers(0, 2**32 - 1), data=st.data())
@settings(max_examples=100, deadline=None)
def test_random_allocation_feasible_and_scored_like_reference(n: int, m: int, seed: int, data: st.DataObject) -> None:
    """``random_allocation`` batches satisfy C2–C5 and each element scores like the scalar reference."""
    config = data.draw(configs(n, m))
    rng = np.random.default_rng(seed)
    batch_data, alloc = _random_batch(config, rng, (8,))
    channels, association, share = (np.asarray(x) for x in (alloc.channels, alloc.association, alloc.cpu_share))
    assert channels.shape == (8, n) and association.shape == (8, n) and share.shape == (8, m, n)
    assert (channels >= 1).all() and (channels.sum(axis=-1) <= config.channels_total).all()
    assert ((association >= 0) & (association < m)).all()
    off = np.arange(m)[None, :, None] != association[:, None, :]
    assert (share[off] == 0.0).all() and (share >= 0.0).all()
    assert (share.sum(axis=-1) <= 1.0 + 1e-9).all()
    batched = allocation_cost(config, batch_data, alloc)
    for b in range(8):
        ref = _scalar_cost(
            config, batch_data[b].tolist(), channels[b].tolist(), association[b].tolist(), share[b].tolist(), None
        )
        _assert_matches_reference({k: np.asarray(v)[b] for k, v in batched.items()}, ref, config)


# ----------------------------------------------------------------------------------------------------------------
# Directional properties (spec §4-5)
# ----------------------------------------------------------------------------------------------------------------


@given(instances())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_eq14_never_exceeds_eq15(
    instance: tuple[SatGroundConfig, list[float], list[int], list[int], list[list[float]], float | None],
) -> None:
    """Spec §4: the eq 14 satellite energy is never larger than eq 15; they agree for a lone UAV per satellite."""
    config, data, channels, association, rho, mu = instance
    alloc = _allocation(channels, association, rho)
    e14 = np.asarray(allocation_cost(config.replace(energy_model="eq14"), np.asarray(data), alloc, mu=mu)["E_cmp"])
    e15 = np.asarray(allocation_cost(config.replace(energy_model="eq15"), np.asarray(data), alloc, mu=mu)["E_cmp"])
    assert (e14 <= e15 * (1.0 + 1e-12)).all(), (e14, e15)
    for j in range(config.n_satellites):
        users = [i for i in range(len(data)) if association[i] == j]
        if len(users) == 1:
            assert e14[j] == pytest.approx(e15[j], rel=1e-12)
        if len(users) >= 2 and sum(1 for i in users if rho[j][i] > 1e-3) >= 2:
            assert e14[j] < e15[j]


@given(instances(), st.floats(0.05, 0.95))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_lowering_row_total_lowers_eq15_energy(
    instance: tuple[SatGroundConfig, list[float], list[int], list[int], list[list[float]], float | None], factor: float
) -> None:
    """Scaling satellite j's ρ row by c < 1 scales its eq 15 energy by c², leaves others alone, never speeds training."""
    config, data, channels, association, rho, mu = instance
    config = config.replace(energy_model="eq15")
    j = association[0]
    if math.fsum(rho[j]) < 1e-3:
        rho[j][0] = 0.5
    lowered = [[v * factor if row == j else v for v in rho[row]] for row in range(len(rho))]
    before = allocation_cost(config, np.asarray(data), _allocation(channels, association, rho), mu=mu)
    after = allocation_cost(config, np.asarray(data), _allocation(channels, association, lowered), mu=mu)
    e_before, e_after = np.asarray(before["E_cmp"]), np.asarray(after["E_cmp"])
    assert e_after[j] < e_before[j]
    assert e_after[j] == pytest.approx(factor**2 * e_before[j], rel=1e-9)
    others = [k for k in range(config.n_satellites) if k != j]
    np.testing.assert_array_equal(e_after[others], e_before[others])
    assert float(after["T_train"]) >= float(before["T_train"])
    np.testing.assert_array_equal(np.asarray(after["T_up"]), np.asarray(before["T_up"]))


@given(instances())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_objective_endpoints_and_monotone_channels(
    instance: tuple[SatGroundConfig, list[float], list[int], list[int], list[list[float]], float | None],
) -> None:
    """μ = 0 scores delay only, μ = 1 energy only; one more channel for the slowest UAV never raises T_up or E_com."""
    config, data, channels, association, rho, _ = instance
    alloc = _allocation(channels, association, rho)
    t_max, e_max = reference_normalisers(config)
    at0 = allocation_cost(config, np.asarray(data), alloc, mu=0.0)
    at1 = allocation_cost(config, np.asarray(data), alloc, mu=1.0)
    assert float(at0["objective"]) == pytest.approx(float(at0["T_total"]) / t_max, rel=1e-12)
    assert float(at1["objective"]) == pytest.approx(float(at1["E_total"]) / e_max, rel=1e-12)
    slowest = int(np.argmax(np.asarray(at0["T_up"])))
    more = list(channels)
    more[slowest] += 1
    richer = allocation_cost(config, np.asarray(data), _allocation(more, association, rho), mu=0.0)
    assert float(np.asarray(richer["T_up"])[slowest]) < float(np.asarray(at0["T_up"])[slowest])
    assert float(richer["E_com"]) < float(at0["E_com"])
    assert float(richer["T_total"]) <= float(at0["T_total"])


@pytest.mark.parametrize(("n_uavs", "n_satellites"), [(6, 3), (32, 8), (64, 8)])
def test_own_n_normalisers_score_the_equal_split_at_the_top_of_the_range_one(n_uavs: int, n_satellites: int) -> None:
    """Spec §5a: with ``reference_n_uavs=None`` the reference is the configuration's own N, M and ξ_total."""
    config = SatGroundConfig(
        n_uavs=n_uavs, n_satellites=n_satellites, channels_total=max(32, 3 * n_uavs), reference_n_uavs=None, mu=0.0
    )
    top = np.full(n_uavs, config.data_mb_range[1])
    result = allocation_cost(config, top, equal_split(config))
    t_max, e_max = reference_normalisers(config)
    assert float(result["T_total"]) == pytest.approx(t_max, rel=1e-12)
    assert float(result["E_UAV"]) == pytest.approx(e_max, rel=1e-12)
    assert bool(result["C6_ok"]) and bool(result["C7_ok"])
    fixed = config.replace(reference_n_uavs=11)
    assert reference_normalisers(fixed) == reference_normalisers(fixed.replace(n_uavs=11, channels_total=fixed.channels_total))
    if n_uavs >= 32:  # spec §5a: with the N = 11 reference a typical large-N state (D_i = 550 MB) violates C7
        assert not bool(allocation_cost(fixed, top * 0.55, equal_split(fixed))["C7_ok"])

"""Property tests of the decoder ``project`` (spec §6): feasibility, idempotence, batching, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sb3_ccddpg_envs import Allocation, action_size, canonical_action, encode, project, project_association

EXAMPLES = settings(max_examples=2000, deadline=None)


@st.composite
def problems(draw: st.DrawFn, dtype: type = np.float64, box: float = 1.0) -> tuple[np.ndarray, int, int, int]:
    """A shape (N, M, ξ_total) and one action in ``[-box, box]`` with special values mixed in."""
    n_uavs = draw(st.integers(1, 12))
    n_satellites = draw(st.integers(1, 4))
    channels_total = draw(st.integers(n_uavs, 40))
    elements = st.one_of(
        st.floats(-box, box, allow_nan=False, width=32 if dtype == np.float32 else 64),
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5]),
    )
    action = draw(arrays(dtype, action_size(n_uavs, n_satellites), elements=elements))
    return action, n_uavs, n_satellites, channels_total


def assert_feasible(allocation: Allocation, n_satellites: int, channels_total: int, row_tolerance: float) -> None:
    """C2–C5 of problem (17) on a single allocation."""
    channels, association, shares = allocation.channels, allocation.association, allocation.cpu_share
    assert channels.dtype == np.int64 and association.dtype == np.int64
    assert np.all(channels >= 1) and channels.sum() <= channels_total  # C5
    assert np.all((association >= 0) & (association < n_satellites))  # C3/C4: exactly one satellite each
    on_satellite = association == np.arange(n_satellites)[:, None]
    assert np.all(shares[~on_satellite] == 0.0)  # ρ only where φ = 1
    assert np.all(shares >= 0.0)
    assert np.all(shares.sum(axis=-1) <= 1.0 + row_tolerance)  # C2


@EXAMPLES
@given(problems(box=1e6))
def test_any_finite_action_decodes_to_feasible_allocation(problem: tuple[np.ndarray, int, int, int]) -> None:
    action, n_uavs, n_satellites, channels_total = problem
    allocation = project(action, n_uavs, n_satellites, channels_total)
    assert allocation.channels.shape == (n_uavs,)
    assert allocation.cpu_share.shape == (n_satellites, n_uavs)
    assert_feasible(allocation, n_satellites, channels_total, row_tolerance=1e-9)


@EXAMPLES
@given(problems(dtype=np.float32))
def test_float32_actions_decode_to_feasible_allocation(problem: tuple[np.ndarray, int, int, int]) -> None:
    action, n_uavs, n_satellites, channels_total = problem
    allocation = project(action, n_uavs, n_satellites, channels_total)
    assert_feasible(allocation, n_satellites, channels_total, row_tolerance=1e-9)
    assert np.all(allocation.cpu_share.astype(np.float32).sum(axis=-1) <= 1.0 + 1e-6)


@EXAMPLES
@given(problems())
def test_decoding_is_idempotent(problem: tuple[np.ndarray, int, int, int]) -> None:
    """Decode, re-encode, decode: channels and association exactly, ρ within 1e-12 (spec §6)."""
    action, n_uavs, n_satellites, channels_total = problem
    first = project(action, n_uavs, n_satellites, channels_total)
    second = project(encode(first, channels_total), n_uavs, n_satellites, channels_total)
    np.testing.assert_array_equal(second.channels, first.channels)
    np.testing.assert_array_equal(second.association, first.association)
    np.testing.assert_allclose(second.cpu_share, first.cpu_share, rtol=0, atol=1e-12)
    # The same through a float32 action, within 1e-6, for shares float32 can hold (smaller ones flush to 0,
    # which empties the column and moves the UAV to satellite 0: a limit of float32, see `encode`).
    kept = first.cpu_share[first.cpu_share > 0]
    if np.any(kept < np.finfo(np.float32).tiny):
        return
    third = project(encode(first, channels_total).astype(np.float32), n_uavs, n_satellites, channels_total)
    np.testing.assert_array_equal(third.channels, first.channels)
    np.testing.assert_array_equal(third.association, first.association)
    np.testing.assert_allclose(third.cpu_share, first.cpu_share, rtol=0, atol=1e-6)


@EXAMPLES
@given(problems(), st.floats(1e-3, 1.0), st.floats(0.0, 1.0))
def test_ccddpg_style_action_is_fixed_point(
    problem: tuple[np.ndarray, int, int, int], channel_scale: float, share_scale: float
) -> None:
    """ξ fractions summing to α0 ∈ (0, 1] and rows summing to α_j ∈ [0, 1] are fixed points of steps 1, 3, 4."""
    action, n_uavs, n_satellites, _ = problem
    magnitude = np.abs(action)
    fractions = magnitude[:n_uavs] + 1e-3
    fractions = channel_scale * fractions / fractions.sum()
    shares = magnitude[n_uavs:].reshape(n_satellites, n_uavs)
    kept = np.where(shares == shares.max(axis=0), shares, 0.0)
    kept = kept * (np.arange(n_satellites)[:, None] == shares.argmax(axis=0))
    rows = kept.sum(axis=-1, keepdims=True)
    kept = share_scale * kept / np.where(rows > 0, rows, 1.0)
    ccddpg_action = np.concatenate([fractions, kept.ravel()])
    np.testing.assert_allclose(canonical_action(ccddpg_action, n_uavs, n_satellites), ccddpg_action, rtol=0, atol=1e-12)


@settings(max_examples=300, deadline=None)
@given(problems(), st.integers(1, 5))
def test_batched_decoding_equals_one_by_one(problem: tuple[np.ndarray, int, int, int], batch: int) -> None:
    action, n_uavs, n_satellites, channels_total = problem
    rng = np.random.default_rng(batch)
    actions = np.concatenate([action[None], rng.uniform(-1, 1, (batch, action.size))])
    batched = project(actions.reshape(1, batch + 1, -1), n_uavs, n_satellites, channels_total)
    for k, single_action in enumerate(actions):
        single = project(single_action, n_uavs, n_satellites, channels_total)
        np.testing.assert_array_equal(batched.channels[0, k], single.channels)
        np.testing.assert_array_equal(batched.association[0, k], single.association)
        np.testing.assert_array_equal(batched.cpu_share[0, k], single.cpu_share)


def test_channel_rule_worked_example() -> None:
    """Spec §6 step 2 by hand: N = 3, ξ_total = 10, x = (0.5, 0.3, 0.1) → K = 9, targets (5, 3, 1)."""
    action = np.array([0.5, 0.3, 0.1, 1.0, 1.0, 1.0])
    allocation = project(action, n_uavs=3, n_satellites=1, channels_total=10)
    np.testing.assert_array_equal(allocation.channels, [5, 3, 1])
    # Σx = 0.96 → K = round(9.6) = 10, t = (6.25, 3.125, 0.625), quotas of the 7 spare ≈ (4.98, 2.02, 0).
    action = np.array([0.6, 0.3, 0.06, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(project(action, 3, 1, 10).channels, [6, 3, 1])
    # Ties in the remainders go to the lower index: 2 UAVs, 5 channels, equal weights → (3, 2).
    np.testing.assert_array_equal(project(np.array([0.5, 0.5, 1.0, 1.0]), 2, 1, 5).channels, [3, 2])


def test_round_half_up_and_minimum_channels() -> None:
    # Σx·ξ_total = 2.5 rounds up to 3 but at least N = 4 channels are used.
    np.testing.assert_array_equal(project(np.array([0.25, 0, 0, 0, 1, 1, 1, 1]), 4, 1, 10).channels, [1, 1, 1, 1])
    # Σx·ξ_total = 5.5 → 6 channels.
    np.testing.assert_array_equal(project(np.array([0.55, 0, 1, 1]), 2, 1, 10).channels, [5, 1])


def test_zero_channel_part_is_uniform_and_zero_column_goes_to_satellite_zero() -> None:
    allocation = project(np.zeros(2 + 2 * 2), n_uavs=2, n_satellites=2, channels_total=4)
    np.testing.assert_array_equal(allocation.channels, [2, 2])
    np.testing.assert_array_equal(allocation.association, [0, 0])
    np.testing.assert_array_equal(allocation.cpu_share, np.zeros((2, 2)))


@EXAMPLES
@given(st.one_of(problems(box=1e6), problems(dtype=np.float32)))
def test_the_association_alone_is_the_decoders(problem: tuple[np.ndarray, int, int, int]) -> None:
    action, n_uavs, n_satellites, channels_total = problem
    association = project_association(action, n_uavs, n_satellites)
    assert association.dtype == np.int64
    np.testing.assert_array_equal(association, project(action, n_uavs, n_satellites, channels_total).association)


def test_argmax_ties_go_to_lower_satellite_and_rows_are_repaired() -> None:
    action = np.array([0.5, 0.5, 0.9, -0.9, -0.9, 0.9])  # ρ rows [0.9, -0.9], [-0.9, 0.9]
    allocation = project(action, n_uavs=2, n_satellites=2, channels_total=2)
    np.testing.assert_array_equal(allocation.association, [0, 0])
    np.testing.assert_allclose(allocation.cpu_share, [[0.5, 0.5], [0.0, 0.0]])


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.full(6, np.nan), "finite"),
        (np.array([np.inf, 0, 0, 0, 0, 0]), "finite"),
        (np.zeros(5), r"shape \(\.\.\., 6\)"),
        (np.float64(0.3), "shape"),
    ],
)
def test_bad_actions_raise(action: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        project(action, n_uavs=2, n_satellites=2, channels_total=4)
    with pytest.raises(ValueError, match=match):
        project_association(action, n_uavs=2, n_satellites=2)


def test_more_uavs_than_channels_raises() -> None:
    with pytest.raises(ValueError, match="n_uavs must be at most channels_total = 3"):
        project(np.zeros(4 + 4), n_uavs=4, n_satellites=1, channels_total=3)

"""The twin-error benchmark and the decision that accounts for the twin's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sb3_ccddpg.solvers.robust import posterior_samples, robust_allocation
from sb3_ccddpg.solvers.search import TwinSearch
from sb3_ccddpg.studies.bench.twin import BOUND, LEARNED, METHODS, REFERENCE, main, written_rows
from sb3_ccddpg_envs import SatGroundConfig, action_size, allocation_cost, equal_split, project, twin_view
from tests.test_ccddpg import assert_feasible_fixed_point

ARGUMENTS = ["--sigmas", "0", "0.3", "--mus", "0.5", "--n-uavs", "5", "--n-states", "12", "--seeds", "1"]
ARGUMENTS += ["--train-steps", "250"]


def test_every_method_decides_on_the_twin_and_a_rerun_continues(tmp_path: Path) -> None:
    main([*ARGUMENTS, "--output", str(tmp_path)])
    table = pd.read_csv(tmp_path / "twin.csv").set_index(["sigma", "method"])
    assert set(table.index.get_level_values("method")) == set(METHODS) - {BOUND}  # the bound only where asked for
    assert (table.loc[(slice(None), REFERENCE), "ratio"] == 1.0).all()
    assert (table["ratio"] >= 1.0 - 1e-9).all()  # nothing that decides on the twin beats the clairvoyant optimum
    exact = table.xs(0.0, level="sigma")
    assert exact.loc["oracle (plug-in)", "objective"] == pytest.approx(exact.loc[REFERENCE, "objective"])
    assert exact.loc["twin-robust", "objective"] == pytest.approx(exact.loc["twin-descent", "objective"])
    wrong = table.xs(0.3, level="sigma")
    assert wrong.loc["oracle (plug-in)", "ratio"] > 1.0  # a wrong twin costs the plug-in optimum
    rows = written_rows(tmp_path)
    assert len(rows) == 12 * 2 * (len(METHODS) - 1)
    assert (rows.loc[rows["method"].isin(list(LEARNED)), "train_s"] > 0).all()
    assert (tmp_path / "twin.png").read_bytes()[:4] == b"\x89PNG" and "| σ |" in (tmp_path / "twin.md").read_text()

    kept = tmp_path / "rows" / "n5_sigma0.3_mu0.5" / "equal split.csv"
    untouched = tmp_path / "rows" / "n5_sigma0.3_mu0.5" / "twin-robust.csv"
    before = untouched.stat().st_mtime_ns
    kept.unlink()
    main([*ARGUMENTS, "--output", str(tmp_path)])
    assert kept.exists() and untouched.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--sigmas", "-0.1"], "twin_error must be"),
        (["--env-kwargs", "twin_error:0.1"], "twin_error is swept by --sigmas"),
        (["--seeds", "0"], "--seeds must be ≥ 1"),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit):
        main([*arguments, "--output", str(tmp_path / "out")])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "rows").exists()


def test_the_posterior_mean_estimates_the_true_sizes_better_than_the_view() -> None:
    """Under the model the posterior mean is the least-squares estimate: it must beat the raw (clipped) view."""
    config = SatGroundConfig(n_uavs=1, twin_error=0.3)
    rng = np.random.default_rng(0)
    truth = rng.uniform(100.0, 1000.0, 3000)
    views = twin_view(config, truth[:, None], rng)[:, 0]
    means = np.array([posterior_samples(config, np.array([view]), 256).mean() for view in views])
    assert np.mean((means - truth) ** 2) < 0.9 * np.mean((views - truth) ** 2)
    clipped = views >= 1000.0
    assert clipped.any() and (means[clipped] < 1000.0).all()  # a clipped view is read as "at least this large"


def test_without_twin_error_the_posterior_is_the_view_and_robust_is_the_descent() -> None:
    config = SatGroundConfig(n_uavs=6, twin_bias=0.0)
    rng = np.random.default_rng(1)
    for _ in range(5):
        data = rng.uniform(100.0, 1000.0, 6)
        np.testing.assert_array_equal(posterior_samples(config.replace(twin_error=(0.0,) * 6), data, 4), np.tile(data, (4, 1)))
        proposal = project(rng.uniform(-1, 1, action_size(6, 3)), 6, 3, 32)
        robust = TwinSearch(config, "twin-robust").best(data, 0.5, proposal)
        descent = TwinSearch(config, "twin-descent").best(data, 0.5, proposal)
        np.testing.assert_array_equal(robust.association, descent.association)
        np.testing.assert_array_equal(robust.channels, descent.channels)


def test_robust_decisions_with_a_twin_error_are_feasible_fixed_points_and_beat_the_plug_in_on_average() -> None:
    config = SatGroundConfig(twin_error=0.3)
    rng = np.random.default_rng(2)
    truth = rng.uniform(100.0, 1000.0, (60, 11))
    views = twin_view(config, truth, rng)
    robust, plug_in = [], []
    start = equal_split(config)
    for data, view in zip(truth, views, strict=True):
        robust.append(allocation_cost(config, data, robust_allocation(config, view, 0.5, start))["objective"])
        plug_in.append(allocation_cost(config, data, TwinSearch(config, "twin-descent").best(view, 0.5, start))["objective"])
    assert np.mean(robust) < np.mean(plug_in)
    actions = rng.uniform(-1, 1, (4, action_size(11, 3))).astype(np.float32)
    observations = views[:4] / 1000.0
    assert_feasible_fixed_point(TwinSearch(config, "twin-robust").refine(observations, actions), 11, 3)


def test_beyond_the_oracle_the_certified_bound_of_the_true_state_is_the_reference(tmp_path: Path) -> None:
    arguments = ["--sigmas", "0.2", "--mus", "0.5", "--n-uavs", "5", "--n-states", "8", "--output", str(tmp_path)]
    main([*arguments, "--methods", "clairvoyant bound", "equal split", "twin-robust"])
    table = pd.read_csv(tmp_path / "twin.csv").set_index("method")
    assert table.loc["clairvoyant bound", "ratio"] == 1.0 and (table["ratio"] >= 1.0 - 1e-9).all()
    assert "mean objective / certified bound of the true state" in (tmp_path / "twin.md").read_text()

"""The scale benchmark: every method above the certified bound, the exact solver's optimum, resumable rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sb3_ccddpg.studies.bench.scale import (
    Budgets,
    Cell,
    cells,
    jobs,
    main,
    mixed_trainings,
    summary,
    transfer_jobs,
    written_rows,
)

QUICK = ["--quick", "--n-uavs", "6", "--n-satellites", "3", "--n-states", "6", "--train-steps", "300"]


def test_cells_and_jobs_follow_the_sweep() -> None:
    every = cells()
    assert len(every) == 7 * 3 + 2 and Cell(32, 8, 0.1) in every and Cell(32, 8, 0.9) in every
    assert Cell(64, 8).config().channels_total == 192 and Cell(6, 3).config().channels_total == 32
    assert Cell(64, 8).config().reference_n_uavs is None
    listed = jobs([Cell(11, 3), Cell(48, 8)], ["bound", "exact", "ccddpg", "ccddpg-paper"], Budgets(exact_max_n=24))
    assert (Cell(48, 8), ("exact",)) not in listed and (Cell(11, 3), ("exact",)) in listed
    assert listed[0] == (Cell(48, 8), ("ccddpg", "ccddpg-paper"))  # the learned methods share one training
    with_set = jobs([Cell(11, 3)], ["bound", "set-actor", "set-exact-fill", "set-transfer-actor"], Budgets())
    assert (Cell(11, 3), ("set-actor", "set-exact-fill")) in with_set
    assert not any("set-transfer-actor" in methods for _, methods in with_set)  # scored after, by transfer_jobs
    assert transfer_jobs([Cell(11, 3), Cell(32, 8)], ["set-transfer-actor", "set-mixed-fill", "bound"]) == [
        (Cell(32, 8), ("set-transfer-actor", "set-mixed-fill")),
        (Cell(11, 3), ("set-transfer-actor", "set-mixed-fill")),
    ]
    # one mixed training per (M, μ), only when a mixed method is asked for
    assert mixed_trainings([Cell(11, 8), Cell(32, 8), Cell(32, 8, 0.1), Cell(11, 3)], ["set-mixed-actor"]) == [
        (Cell(32, 8), "set-mixed"),
        (Cell(32, 8, 0.1), "set-mixed"),
        (Cell(11, 3), "set-mixed"),
    ]
    assert mixed_trainings([Cell(11, 8)], ["set-deal-mixed-fill", "set-mixed-fill"]) == [
        (Cell(11, 8), "set-mixed"),
        (Cell(11, 8), "set-deal-mixed"),
    ]
    assert mixed_trainings([Cell(11, 8)], ["set-actor"]) == []


def test_quick_sweep_is_certified_and_continues_without_recomputing(tmp_path: Path) -> None:
    main([*QUICK, "--output", str(tmp_path)])
    rows = written_rows(tmp_path)
    table = summary(rows).set_index("method")
    assert set(table.index) == {
        *("bound", "exact", "equal split", "RA", "GA", "twin-descent", "twin-swap-descent", "ccddpg-paper", "ccddpg"),
        *("set-actor", "set-exact-fill", "set-swap-descent", "set-transfer-actor", "set-transfer-fill"),
        *("set-mixed-actor", "set-mixed-fill", "snake-deal"),
        *("set-deal-actor", "set-deal-fill", "set-deal-transfer-actor", "set-deal-transfer-fill"),
        *("set-deal-mixed-actor", "set-deal-mixed-fill"),
    }
    assert table.loc["set-swap-descent", "objective"] <= table.loc["set-exact-fill", "objective"] * (1 + 1e-9)
    # --quick mixes N = 6 and 11: one model, kept with its sizes, decides at this cell's N = 6
    assert json.loads((tmp_path / "runs" / "mixed_m3_mu0.5" / "train_seconds.json").read_text())["sizes"] == [6, 11]
    assert table.loc["set-mixed-fill", "objective"] <= table.loc["set-mixed-actor", "objective"]
    assert json.loads((tmp_path / "runs" / "deal-mixed_m3_mu0.5" / "train_seconds.json").read_text())["policy_kwargs"][
        "size_deal"
    ]
    assert table.loc["set-mixed-actor", "train_s"] > 0
    # --quick transfers from N = 6 to N = 6: the loaded model decides exactly as the cell's own
    assert table.loc["set-transfer-actor", "objective"] == table.loc["set-actor", "objective"]
    assert table.loc["set-transfer-fill", "objective"] == table.loc["set-exact-fill", "objective"]
    assert table.loc["set-deal-transfer-fill", "objective"] == table.loc["set-deal-fill", "objective"]
    assert table.loc["set-deal-fill", "objective"] <= table.loc["set-deal-actor", "objective"]
    assert table.loc["set-exact-fill", "objective"] <= table.loc["set-actor", "objective"]
    assert (table["ratio_to_bound"] >= 1.0 - 1e-9).all()
    assert table.loc["exact", "proved_rate"] == 1.0 and table.loc["exact", "ratio_to_optimum"] == pytest.approx(1.0)
    assert (table.drop(index="bound")["ratio_to_optimum"] >= 1.0 - 1e-9).all()
    assert table.loc["bound", "ratio_to_optimum"] <= 1.0
    assert table.loc["GA", "objective"] <= table.loc["equal split", "objective"]
    assert table.loc["ccddpg", "train_s"] > 0 and table.loc["ccddpg", "train_s"] == table.loc["ccddpg-paper", "train_s"]
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "mean certified lower bound" in (tmp_path / "scale.md").read_text()

    written = {path: path.stat().st_mtime_ns for path in (tmp_path / "rows").glob("*/*.csv")}
    main([*QUICK, "--output", str(tmp_path)])  # a rerun finds every row and recomputes none
    assert {path: path.stat().st_mtime_ns for path in written} == written
    pd.testing.assert_frame_equal(written_rows(tmp_path), rows)

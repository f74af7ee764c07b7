"""The compare script's library function: every method on the same states, gaps to the oracle, files written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sb3_ccddpg.compare import CompareSettings, compare


def test_compare_writes_every_method_with_its_gap(tmp_path: Path) -> None:
    settings = CompareSettings(
        n_uavs=3, n_states=6, agents=("ccddpg-paper", "ddpg-penalty"), train_steps=40, ga_budgets=(100,)
    )
    table = compare(settings, tmp_path, progress=False)
    expected = ["oracle", "equal split", "RA", "CC-DDPG (paper), 40 steps", "DDPG (penalty), 40 steps", "GA (100 evals)"]
    assert list(table.index) == expected
    assert table.loc["oracle", "gap_pct"] == 0 and (table["gap_pct"] >= -1e-9).all()
    assert table["train_s"].notna().sum() == 2
    states = pd.read_csv(tmp_path / "states.csv")
    assert len(states) == 6 * len(expected) and set(states["method"]) == set(expected)
    assert "| oracle | " in (tmp_path / "summary.md").read_text()
    assert json.loads((tmp_path / "settings.json").read_text())["settings"]["ga_budgets"] == [100]


def test_compare_rejects_unknown_agents() -> None:
    with pytest.raises(ValueError, match="agents must be among"):
        CompareSettings(agents=("ppo",))

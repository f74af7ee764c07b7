"""The compare script's library function: every method on the same states, gaps to the oracle, files written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.studies.compare import CompareSettings, compare


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


def test_both_ccddpg_agents_share_one_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    both = CompareSettings(n_uavs=3, n_states=6, agents=("ccddpg", "ccddpg-paper"), train_steps=40, ga_budgets=())
    trainings = []
    learn = CCDDPG.learn

    def counted_learn(self: CCDDPG, *args: Any, **kwargs: Any) -> CCDDPG:
        trainings.append(self)
        return learn(self, *args, **kwargs)

    monkeypatch.setattr(CCDDPG, "learn", counted_learn)
    compare(both, tmp_path / "both", progress=False)
    assert len(trainings) == 1
    # The paper's row is what training the paper's variant alone gives.
    compare(dataclasses.replace(both, agents=("ccddpg-paper",)), tmp_path / "paper", progress=False)
    shared, alone = (pd.read_csv(tmp_path / run / "states.csv").set_index(["method", "state"]) for run in ("both", "paper"))
    paper = "CC-DDPG (paper), 40 steps"
    pd.testing.assert_series_equal(shared.loc[paper, "objective"], alone.loc[paper, "objective"])
    default = next(method for method in shared.index.unique("method") if method.startswith("CC-DDPG (twin"))
    assert (shared.loc[default, "objective"] <= shared.loc[paper, "objective"] + 1e-12).all()


def test_compare_rejects_unknown_agents() -> None:
    with pytest.raises(ValueError, match="agents must be among"):
        CompareSettings(agents=("ppo",))

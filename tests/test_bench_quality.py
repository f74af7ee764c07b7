"""The quality benchmark keeps every finished checkpoint and continues a stopped run from it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sb3_ccddpg.bench.quality import run_name, run_variant
from sb3_ccddpg.decision import DECISIONS


def test_run_continues_from_its_last_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / run_name("paper", 3, 0.5, 0)
    first = run_variant("paper", 3, 0.5, 0, (120,), 5, run_dir)
    assert sorted(first["decision"]) == sorted(DECISIONS)
    assert (run_dir / "checkpoints" / "model_120_steps.zip").exists()
    assert (run_dir / "checkpoints" / "replay_buffer_120_steps.pkl").exists()

    both = run_variant("paper", 3, 0.5, 0, (120, 240), 5, run_dir)
    kept = both[both["steps"] == 120].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, first, check_dtype=False)  # the first checkpoint is not trained again
    assert sorted(both["steps"].unique()) == [120, 240]
    assert (run_dir / "checkpoints" / "model_240_steps.zip").exists()
    later = both[both["steps"] == 240]
    assert (later["train_s"] > first["train_s"].iloc[0]).all()  # training time accumulates across calls
    pd.testing.assert_frame_equal(pd.read_csv(run_dir / "rows.csv"), both, check_dtype=False)

"""The decision-latency benchmark (bench latency): every method decides every state, scored and timed in one run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.cli import main
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv


def test_latency_rows_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = SatGroundConfig(n_uavs=5, n_satellites=2)
    model = CCDDPG("SetPolicy", SatGroundEnv(config), learning_starts=20, batch_size=8, seed=0)
    model.learn(40)
    model.save(tmp_path / "model.zip")
    output = tmp_path / "latency"
    methods = ["--decisions", "actor", "exact-fill", "--solvers", "oracle", "twin-descent"]
    main(
        [
            "bench",
            "latency",
            "--model",
            str(tmp_path / "model.zip"),
            *methods,
            "--n-states",
            "6",
            "--batch",
            "4",
            "--output",
            str(output),
        ]
    )
    names = ["actor (torch)", "actor (onnx)", "exact-fill (torch)", "exact-fill (onnx)", "oracle", "twin-descent"]
    names += ["actor (torch, batches of 4)", "actor (onnx, batches of 4)"]  # 6 states: a batch of 4, then of 2
    rows = pd.read_csv(output / "latency.csv")
    assert len(rows) == 6 and sorted(rows.columns) == sorted(f"{name}_{kind}" for name in names for kind in ("s", "objective"))
    for runtime in ("torch", "onnx"):  # ONNX Runtime decides as torch does; no decision beats the exact one
        pd.testing.assert_series_equal(
            rows[f"exact-fill ({runtime})_objective"], rows["exact-fill (torch)_objective"], check_names=False, rtol=1e-9
        )
        assert (rows[f"exact-fill ({runtime})_objective"] >= rows["oracle_objective"] * (1 - 1e-12)).all()
    for batched in names[-2:]:  # the same decisions, many at a time
        pd.testing.assert_series_equal(
            rows[f"{batched}_objective"], rows["actor (torch)_objective"], check_names=False, rtol=1e-6
        )
    assert (rows[[f"{name}_s" for name in names]] > 0).all().all()
    assert rows["actor (onnx, batches of 4)_s"].nunique() == 2  # each state carries its batch's time per state
    table = (output / "latency.md").read_text()
    assert table in capsys.readouterr().out  # printed as written
    oracle_line = next(line for line in table.splitlines() if line.startswith("| oracle |"))
    assert oracle_line.startswith("| oracle | 1.0000 |") and oracle_line.endswith("| 1.000 |")
    assert [line.split(" | ")[0][2:] for line in table.splitlines() if line.startswith("| ") and "---" not in line][
        1:
    ] == names


def test_latency_refuses_a_time_reference_it_does_not_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = SatGroundConfig(n_uavs=3, n_satellites=2)
    CCDDPG("MlpPolicy", SatGroundEnv(config), seed=0).save(tmp_path / "model.zip")
    with pytest.raises(SystemExit):
        main(["bench", "latency", "--model", str(tmp_path / "model.zip"), "--time-reference", "GA", "--n-states", "2"])
    assert "--time-reference must be one of the methods" in capsys.readouterr().err


def test_latency_refuses_an_oracle_that_cannot_enumerate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = SatGroundConfig(n_uavs=32, n_satellites=8, channels_total=96, reference_n_uavs=None)
    CCDDPG("MlpPolicy", SatGroundEnv(config), seed=0).save(tmp_path / "model.zip")
    with pytest.raises(SystemExit):
        main(["bench", "latency", "--model", str(tmp_path / "model.zip"), "--n-states", "2"])
    assert "the oracle does not enumerate at N = 32, M = 8" in capsys.readouterr().err

"""Models exported to ONNX (export_onnx) decide as the models do in ONNX Runtime (OnnxPolicy); clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stable_baselines3 import DDPG
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_ccddpg import CCDDPG, OnnxPolicy, export_onnx
from sb3_ccddpg.algorithms import CCSAC, CCTD3, CCTQC, CCCrossQ
from sb3_ccddpg.cli import main
from sb3_ccddpg.evaluation import PolicyMethod, evaluate
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv, observe

CONFIG = SatGroundConfig(n_uavs=6, n_satellites=3)
SMALL = {"learning_starts": 30, "batch_size": 16, "seed": 3}
AGENTS: dict[str, Callable[[SatGroundEnv], BaseAlgorithm]] = {
    "paper": lambda env: CCDDPG("MlpPolicy", env, **SMALL),
    "set": lambda env: CCDDPG("SetPolicy", env, policy_kwargs={"rank_cycles": True, "size_deal": True}, **SMALL),
    "cctd3": lambda env: CCTD3("MlpPolicy", env, **SMALL),
    "ccsac": lambda env: CCSAC("MlpPolicy", env, **SMALL),
    "cctqc": lambda env: CCTQC("MlpPolicy", env, **SMALL),
    "cccrossq": lambda env: CCCrossQ("MlpPolicy", env, **SMALL),
}


def observations(config: SatGroundConfig, n_states: int, seed: int = 0) -> np.ndarray:
    data_mb = np.random.default_rng(seed).uniform(*config.data_mb_range, (n_states, config.n_uavs))
    return observe(config, data_mb, config.mu)


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_exported_actor_decides_as_the_model_in_every_mode(agent: str) -> None:
    model = AGENTS[agent](SatGroundEnv(CONFIG))
    model.learn(60)  # past the warm-up: weights moved by training (and CrossQ's batch statistics)
    exported = OnnxPolicy(export_onnx(model))
    batch = observations(CONFIG, 40)
    for decision in ("actor", "exact-fill", "twin-swap-descent"):
        model.policy.set_decision(decision, CONFIG)  # type: ignore[attr-defined]
        exported.set_decision(decision)
        expected, _ = model.predict(batch, deterministic=True)
        actions, state = exported.predict(batch)
        assert state is None and actions.shape == expected.shape and actions.dtype == np.float32
        np.testing.assert_allclose(actions, expected, atol=1e-5)
        single, _ = exported.predict(batch[7])
        np.testing.assert_allclose(single, expected[7], atol=1e-5)


def test_file_round_trip_keeps_sizes_decision_and_scenario(tmp_path: Path) -> None:
    config = CONFIG.replace(mu=0.3, data_mb_range=(200.0, 600.0), twin_error=(0.1,) * 6)
    model = AGENTS["set"](SatGroundEnv(config))
    model.set_decision("exact-fill", config)
    path = tmp_path / "new folder" / "model.onnx"
    export_onnx(model, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.onnx"]  # its folder made, no temporary file left
    loaded = OnnxPolicy(path)
    assert loaded.config == config and loaded.decision == "exact-fill"
    assert (loaded.n_uavs, loaded.n_satellites, loaded.policy_name) == (6, 3, "SetPolicy")
    assert OnnxPolicy(path, decision="actor").decision == "actor"


def test_a_set_model_resized_to_another_n_exports_at_that_n() -> None:
    model = AGENTS["set"](SatGroundEnv(CONFIG))
    bigger = SatGroundConfig(n_uavs=16, n_satellites=4, channels_total=48)
    resized = model.resized(SatGroundEnv(bigger))
    resized.set_decision("actor")
    exported = OnnxPolicy(export_onnx(resized))
    batch = observations(bigger, 10)
    assert exported.n_uavs == 16
    np.testing.assert_allclose(exported.predict(batch)[0], resized.predict(batch, deterministic=True)[0], atol=1e-5)


def test_the_harness_scores_an_exported_model_like_the_model() -> None:
    model = AGENTS["set"](SatGroundEnv(CONFIG))
    exported = OnnxPolicy(export_onnx(model))
    scored = [evaluate(PolicyMethod(predictor, CONFIG, "m"), CONFIG, 30, seed=5) for predictor in (model, exported)]
    np.testing.assert_allclose(scored[1]["objective"], scored[0]["objective"], rtol=1e-9)


def test_bad_files_inputs_and_models_are_refused_by_name(tmp_path: Path) -> None:
    not_onnx = tmp_path / "model.zip"
    not_onnx.write_bytes(b"PK\x03\x04 not an onnx model")
    with pytest.raises(ValueError, match=f"{not_onnx} is not an ONNX model"):
        OnnxPolicy(not_onnx)
    model = AGENTS["paper"](SatGroundEnv(CONFIG))
    exported = export_onnx(model)
    import onnx

    foreign = onnx.load_model_from_string(exported)
    del foreign.metadata_props[:]
    with pytest.raises(ValueError, match=r"was not written by sb3_ccddpg\.export_onnx"):
        OnnxPolicy(foreign.SerializeToString())
    policy = OnnxPolicy(exported)
    with pytest.raises(ValueError, match=r"observation must have shape \(6,\) or \(batch, 6\).*got \(7,\)"):
        policy.predict(np.zeros(7, dtype=np.float32))
    with pytest.raises(ValueError, match="deterministic=True"):
        policy.predict(observations(CONFIG, 1)[0], deterministic=False)
    with pytest.raises(ValueError, match="decision must be one of"):
        policy.set_decision("fastest")
    for threads in (0, 1.5):
        with pytest.raises(ValueError, match=f"threads must be an integer ≥ 1, got {threads}"):
            OnnxPolicy(exported, threads=threads)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="no such ONNX file"):
        OnnxPolicy(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="is a folder; give a file name"):
        export_onnx(model, tmp_path)
    with pytest.raises(ValueError, match="needs a policy with the constraint heads, got TD3Policy"):
        export_onnx(DDPG("MlpPolicy", SatGroundEnv(CONFIG)))


def test_cli_exports_and_evaluates_with_both_runtimes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    main(["train", "--n-uavs", "3", "--no-tensorboard", "--steps", "30", "--log-dir", str(run_dir)])
    main(["export", "--model", str(run_dir), "--output", str(tmp_path / "run.onnx"), "--decision", "exact-fill"])
    assert OnnxPolicy(tmp_path / "run.onnx").decision == "exact-fill"
    command = ["evaluate", "--model", str(run_dir), "--decisions", "actor", "exact-fill", "--runtime", "torch", "onnx"]
    main([*command, "--n-states", "5", "--output", str(tmp_path / "eval")])
    summary = pd.read_csv(tmp_path / "eval" / "summary.csv", index_col="method")
    model = run_dir / "model.zip"
    names = [f"CC-DDPG ({decision}{runtime}) ({model})" for decision in ("actor", "exact-fill") for runtime in ("", ", onnx")]
    assert list(summary.index) == names
    np.testing.assert_allclose(summary["objective"].iloc[1::2], summary["objective"].iloc[::2], rtol=1e-6)  # float32 actors
    with pytest.raises(SystemExit):
        main(["evaluate", "--baseline", "oracle", "--runtime", "onnx"])
    assert "--runtime onnx needs --model" in capsys.readouterr().err

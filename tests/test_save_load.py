"""CC-DDPG save → load: same parameters, scales and predictions; learning continues; vectorised envs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv


@pytest.mark.parametrize("n_envs", [1, 4])
def test_round_trip_keeps_predictions_scales_and_arguments(tmp_path: Path, n_envs: int) -> None:
    env = make_vec_env(SatGroundEnv, n_envs=n_envs, seed=0, env_kwargs={"n_uavs": 5})
    model = CCDDPG(
        "CCDDPGPolicy",
        env,
        learning_starts=32,
        batch_size=32,
        exploration_noise=0.1,
        policy_kwargs={"net_arch": [32, 32], "branch_width": 8, "alpha0_init": 0.9, "alpha_init": 0.7},
        seed=3,
    )
    model.learn(160)
    assert model.num_timesteps >= 160
    observations = np.random.default_rng(0).uniform(0, 1, (20, 5)).astype(np.float32)
    before, _ = model.predict(observations, deterministic=True)
    model.save(tmp_path / "model.zip")

    loaded = CCDDPG.load(tmp_path / "model.zip", env=env)
    after, _ = loaded.predict(observations, deterministic=True)
    np.testing.assert_array_equal(after, before)
    with model.policy.actor_alone(), loaded.policy.actor_alone():  # the actors too, not only the twin's choices
        np.testing.assert_array_equal(
            loaded.predict(observations, deterministic=True)[0], model.predict(observations, deterministic=True)[0]
        )
    assert loaded.actor.alpha0 == model.actor.alpha0 and loaded.actor.alpha == model.actor.alpha
    assert model.actor.alpha0 != pytest.approx(0.9)  # the scale was trained, and the trained value reloaded
    assert loaded.exploration_noise == 0.1 and loaded.gamma == 0.0
    assert loaded.policy.head_kwargs == model.policy.head_kwargs
    assert loaded.policy.net_arch == [32, 32]
    loaded.learn(64, reset_num_timesteps=False)  # learning still works after loading
    assert loaded.num_timesteps >= model.num_timesteps + 64


def test_load_without_env_predicts(tmp_path: Path) -> None:
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(n_uavs=4), seed=0)
    model.save(tmp_path / "model")
    loaded = CCDDPG.load(tmp_path / "model.zip")
    observation = np.full(4, 0.5, dtype=np.float32)
    np.testing.assert_array_equal(
        loaded.predict(observation, deterministic=True)[0], model.predict(observation, deterministic=True)[0]
    )


def test_same_seed_same_actions() -> None:
    def actions(seed: int) -> np.ndarray:
        model = CCDDPG(
            "CCDDPGPolicy",
            SatGroundEnv(n_uavs=4),
            learning_starts=20,
            batch_size=16,
            policy_kwargs={"decision": "actor"},  # the actor's own outputs, not the twin's few choices
            seed=seed,
        )
        model.learn(60)
        return model.predict(np.linspace(0.1, 1, 4, dtype=np.float32), deterministic=True)[0]

    np.testing.assert_array_equal(actions(5), actions(5))
    assert not np.array_equal(actions(5), actions(6))


def test_set_decision_is_kept_by_save_and_load(tmp_path: Path) -> None:
    config = SatGroundConfig(n_uavs=4)
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(config), seed=0)
    assert model.policy.decision_kwargs["decision"] == DEFAULT_DECISION
    observations = np.random.default_rng(1).uniform(0, 1, (10, 4)).astype(np.float32)
    with model.policy.actor_alone():
        alone, _ = model.predict(observations, deterministic=True)
    model.set_decision("actor")
    model.save(tmp_path / "model.zip")
    loaded = CCDDPG.load(tmp_path / "model.zip")
    assert loaded.policy.decision_kwargs == {"decision": "actor", "decision_config": None}
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0], alone)
    loaded.set_decision("twin-search")  # no env: the scenario the model carries is the twin's
    assert loaded.policy_kwargs["decision"] == "twin-search" and loaded.policy.decision_kwargs["decision_config"] == config
    loaded.set_decision("actor")
    loaded.env_config = None  # a model that knows no scenario (built without a SatGround env)
    with pytest.raises(ValueError, match="needs decision_config"):
        loaded.set_decision("twin-search")
    loaded.set_decision("twin-search", config)
    assert loaded.policy_kwargs["decision"] == "twin-search"


def test_models_saved_before_decision_modes_load_with_their_actor_deciding(tmp_path: Path) -> None:
    config = SatGroundConfig(n_uavs=4)
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(config), seed=0)
    for key in ("decision", "decision_config"):  # what such a save holds: neither key
        model.policy_kwargs.pop(key, None)
    model.save(tmp_path / "old.zip")
    observations = np.random.default_rng(2).uniform(0, 1, (10, 4)).astype(np.float32)
    with model.policy.actor_alone():
        alone, _ = model.predict(observations, deterministic=True)
    for env in (None, SatGroundEnv(config)):
        loaded = CCDDPG.load(tmp_path / "old.zip", env=env)
        assert loaded.policy.decision_kwargs["decision"] == "actor"
        np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0], alone)

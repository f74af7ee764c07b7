"""Softmax relaxation of the satellite choice: gradient to every satellite in training, hard argmax when acting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th
from hypothesis import given, settings
from hypothesis import strategies as st

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.torch_layers import ShareHead
from sb3_ccddpg_envs import SatGroundEnv, observe
from sb3_ccddpg_envs.feasibility import keep_column_max, rescale_sum
from tests.test_ccddpg import assert_feasible_fixed_point


def share_head(temperature: float | None, seed: int = 0) -> ShareHead:
    th.manual_seed(seed)
    return ShareHead(8, 16, n_uavs=5, n_satellites=3, alpha_init=0.9, learnable_scale=True, temperature=temperature)


def test_relaxed_training_passes_gradient_to_every_satellite_entry() -> None:
    head = share_head(0.3)
    features = th.rand((32, 8))
    head.train()
    head(features).sum(dim=(1, 2)).pow(2).mean().backward()
    last = head.net[2].weight.grad  # one row per (satellite, UAV) entry
    assert last is not None and bool((last.abs().sum(dim=1) > 0).all())

    hard = share_head(None)
    hard.train()
    single = th.rand((1, 8))
    hard(single).sum().backward()
    kept = keep_column_max(th.abs(hard.net(single)).reshape(3, 5)) > 0
    gradient = hard.net[2].weight.grad
    assert gradient is not None
    assert bool((gradient.abs().sum(dim=1).reshape(3, 5)[~kept] == 0).all())  # the paper's head: dropped get none


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.01, 0.3, 3.0]))
def test_acting_uses_the_hard_argmax(seed: int, temperature: float) -> None:
    relaxed, hard = share_head(temperature, seed), share_head(None, seed)
    features = th.rand((16, 8), generator=th.Generator().manual_seed(seed))
    relaxed.eval()
    hard.eval()
    with th.no_grad():
        th.testing.assert_close(relaxed(features), hard(features))
        magnitude = th.abs(relaxed.net(features)).reshape(-1, 3, 5)
        expected = relaxed.alpha()[:, None] * rescale_sum(keep_column_max(magnitude), above=0.0)
        th.testing.assert_close(relaxed(features), expected)


def test_temperature_is_annealed_kept_by_save_and_load_and_actions_stay_feasible(tmp_path: Path) -> None:
    model = CCDDPG(
        "CCDDPGPolicy",
        SatGroundEnv(n_uavs=4),
        learning_starts=20,
        batch_size=16,
        policy_kwargs={"net_arch": [16, 16], "branch_width": 8, "assignment_temperature": 0.5},
        seed=0,
    )
    model.learn(100)
    assert 0.05 <= model.actor.share_head.temperature < 0.5
    observations = observe(model.get_env().get_attr("config")[0], np.random.default_rng(0).uniform(100, 1000, (8, 4)), 0.5)
    before, _ = model.predict(observations, deterministic=True)
    assert_feasible_fixed_point(before, 4, 3)
    assert_feasible_fixed_point(model.replay_buffer.actions[: model.replay_buffer.size(), 0], 4, 3)
    model.save(tmp_path / "model.zip")
    loaded = CCDDPG.load(tmp_path / "model.zip")
    assert loaded.policy.head_kwargs["assignment_temperature"] == 0.5
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0], before)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_bad_temperature_is_rejected(temperature: float) -> None:
    with pytest.raises(ValueError, match="assignment_temperature must be a finite number in"):
        share_head(temperature)

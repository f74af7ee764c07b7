"""Training one set model across sizes: every size's model ends with the same weights, each with its own buffer."""

from __future__ import annotations

import pytest
import torch as th

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.size_mixing import hand_on, learn_across_sizes
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv

SMALL = {"learning_starts": 20, "batch_size": 16, "seed": 1, "imitation_weight": 1.0, "critic_gradient": False}


def _envs(*sizes: int) -> list[SatGroundEnv]:
    return [SatGroundEnv(SatGroundConfig(n_uavs=n, n_satellites=3)) for n in sizes]


def test_every_size_trains_in_turn_and_ends_with_the_same_weights() -> None:
    envs = _envs(4, 7)
    model = CCDDPG("SetPolicy", envs[0], **SMALL)
    initial = {name: value.clone() for name, value in model.policy.state_dict().items()}
    models = learn_across_sizes(model, envs, steps_per_size=90, turn_steps=40)
    assert [sized.num_timesteps for sized in models] == [90, 90]
    assert [sized.policy_kwargs["n_uavs"] for sized in models] == [4, 7]
    assert [sized.replay_buffer.size() for sized in models] == [90, 90]  # each size keeps its own transitions
    first, second = (sized.policy.state_dict() for sized in models)
    assert all(th.equal(first[name], second[name]) for name in first)
    assert any(not th.equal(first[name], initial[name]) for name in first)  # trained
    assert all(th.equal(value, model.policy.state_dict()[name]) for name, value in initial.items())  # model kept
    # the optimiser's state went round too: Adam counts both sizes' steps (90 − 20 warm-up steps each, one update per step)
    steps = [int(next(iter(sized.actor.optimizer.state.values()))["step"]) for sized in models]
    assert steps == [2 * (90 - 20)] * 2


def test_hand_on_refuses_weights_of_another_shape() -> None:
    small, large = _envs(4, 7)
    with pytest.raises(ValueError, match="weights do not match"):
        hand_on(CCDDPG("MlpPolicy", small, seed=0), CCDDPG("MlpPolicy", large, seed=0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"envs": []}, "at least one"),
        ({"steps_per_size": 0}, "steps_per_size must be ≥ 1"),
        ({"turn_steps": 0}, "turn_steps must be ≥ 1"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    envs = _envs(4)
    arguments: dict[str, object] = {"envs": envs, "steps_per_size": 10, "turn_steps": 5, **kwargs}
    with pytest.raises(ValueError, match=message):
        learn_across_sizes(CCDDPG("SetPolicy", envs[0], **SMALL), **arguments)  # type: ignore[arg-type]

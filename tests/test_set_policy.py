"""The size-independent CC-DDPG policy (SetPolicy) and expert iteration: feasibility, symmetry, sizes, training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.expert_iteration import TeacherReplayBuffer, imitation_loss, matched_labels
from sb3_ccddpg.set_policy import MAX_SATELLITES, SetPolicy
from sb3_ccddpg.solvers.baselines import snake_deal
from sb3_ccddpg.solvers.search import TwinSearch
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv, allocation_cost, observe, project
from sb3_ccddpg_envs.reference import equal_split
from tests.test_ccddpg import _RecordSampledActions, assert_feasible_fixed_point

SMALL = {"learning_starts": 30, "batch_size": 16, "seed": 1}


def set_model(n_uavs: int = 5, n_satellites: int = 3, **kwargs: object) -> CCDDPG:
    env = SatGroundEnv(n_uavs=n_uavs, n_satellites=n_satellites, channels_total=max(32, 3 * n_uavs))
    return CCDDPG("SetPolicy", env, **{**SMALL, **kwargs})  # type: ignore[arg-type]


def observations(config: SatGroundConfig, n_states: int, seed: int = 0) -> np.ndarray:
    return observe(config, np.random.default_rng(seed).uniform(*config.data_mb_range, (n_states, config.n_uavs)), 0.5)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 20),
    st.integers(1, MAX_SATELLITES),
    st.integers(0, 2**31 - 1),
    st.integers(1, 8),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_set_actor_outputs_are_feasible_fixed_points(
    n_uavs: int, n_satellites: int, seed: int, batch: int, rank_cycles: bool, size_token: bool, size_deal: bool
) -> None:
    th.manual_seed(seed)
    options = {"decision": "actor", "rank_cycles": rank_cycles, "size_token": size_token, "size_deal": size_deal}
    model = set_model(n_uavs, n_satellites, policy_kwargs=options)
    with th.no_grad():
        for parameter in model.actor.parameters():  # far from the initial weights too
            parameter.add_(3.0 * th.randn_like(parameter))
        actions = model.actor(th.rand((batch, n_uavs), generator=th.Generator().manual_seed(seed))).numpy()
    assert_feasible_fixed_point(actions, n_uavs, n_satellites, max(32, 3 * n_uavs))


def test_explored_actions_are_feasible_and_stored_as_executed() -> None:
    model = set_model(exploration_noise=0.3, imitation_weight=1.0)
    recorder = _RecordSampledActions()
    model.learn(80, callback=recorder)
    for actions, buffer_actions, _ in recorder.steps:
        np.testing.assert_array_equal(actions, buffer_actions)
        assert_feasible_fixed_point(actions, 5, 3)


@pytest.mark.parametrize(
    "options", [{}, {"rank_cycles": True}, {"rank_cycles": True, "size_token": True}, {"rank_cycles": True, "size_deal": True}]
)
def test_the_actor_is_equivariant_and_the_critic_invariant_under_relabelling(options: dict[str, bool]) -> None:
    model = set_model(n_uavs=7, policy_kwargs={"decision": "actor", **options})
    obs = th.as_tensor(observations(model.env_config, 16), dtype=th.float32)
    order = th.as_tensor(np.random.default_rng(1).permutation(7))
    with th.no_grad():
        actions = model.actor(obs)
        permuted = model.actor(obs[:, order])
        channels, shares = actions[:, :7], actions[:, 7:].reshape(-1, 3, 7)
        th.testing.assert_close(permuted[:, :7], channels[:, order])  # the same decision for each UAV
        th.testing.assert_close(permuted[:, 7:].reshape(-1, 3, 7), shares[:, :, order])
        relabelled = th.cat([channels[:, order], shares[:, [2, 0, 1]][:, :, order].flatten(start_dim=1)], dim=1)
        q, q_relabelled = model.critic.q1_forward(obs, actions), model.critic.q1_forward(obs[:, order], relabelled)
    th.testing.assert_close(q_relabelled, q)  # UAV order and satellite labels do not change the value


def test_a_saved_model_decides_at_other_sizes_with_the_same_weights(tmp_path: Path) -> None:
    model = set_model(n_uavs=6, imitation_weight=1.0)
    model.learn(60)
    model.save(tmp_path / "set")
    loaded = CCDDPG.load(tmp_path / "set")
    obs = observations(model.env_config, 8)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    bigger = SatGroundConfig(n_uavs=16, n_satellites=5, channels_total=48, reference_n_uavs=None)
    resized = CCDDPG.load(tmp_path / "set", env=SatGroundEnv(bigger))
    assert resized.policy_kwargs["n_uavs"] == 16 and resized.env_config == bigger and resized.imitation_weight == 1.0
    for name, weights in model.policy.state_dict().items():
        th.testing.assert_close(resized.policy.state_dict()[name], weights)
    resized.set_decision("actor")
    assert_feasible_fixed_point(resized.predict(observations(bigger, 8), deterministic=True)[0], 16, 5, 48)
    resized.learn(40)  # and it trains at its new size


def test_sizes_the_weights_cannot_serve_are_refused_naming_both(tmp_path: Path) -> None:
    set_model(n_uavs=6).save(tmp_path / "set")
    with pytest.raises(ValueError, match=r"built for N = 6, M = 3; the env has N = 6, M = 9: .*1 ≤ M ≤ 8"):
        CCDDPG.load(tmp_path / "set", env=SatGroundEnv(n_uavs=6, n_satellites=9, channels_total=32))
    CCDDPG("CCDDPGPolicy", SatGroundEnv(n_uavs=6), seed=0).save(tmp_path / "paper")
    with pytest.raises(ValueError, match=r"built for N = 6, M = 3; the env has N = 11, M = 3, and a CCDDPGPolicy's"):
        CCDDPG.load(tmp_path / "paper", env=SatGroundEnv(n_uavs=11))


@pytest.mark.parametrize("mode", ["twin-descent", "twin-swap-descent"])
def test_the_teacher_buffer_stores_the_descent_from_each_executed_action(mode: str) -> None:
    env = DummyVecEnv([lambda: SatGroundEnv(n_uavs=5), lambda: SatGroundEnv(n_uavs=5)])
    teacher_kwargs = {} if mode == "twin-descent" else {"replay_buffer_kwargs": {"teacher": mode}}  # default: the descent
    model = CCDDPG("SetPolicy", env, imitation_weight=1.0, **SMALL, **teacher_kwargs)  # type: ignore[arg-type]
    model.learn(40)
    buffer = model.replay_buffer
    assert isinstance(buffer, TeacherReplayBuffer)
    teacher = TwinSearch(model.env_config, mode)
    for position in (0, buffer.pos - 1):
        expected = teacher.refine(buffer.observations[position], buffer.actions[position])
        np.testing.assert_allclose(buffer.teacher_actions[position], expected)
    samples = buffer.sample(64)
    for obs, action, target in zip(samples.observations, samples.actions, samples.teacher_actions, strict=True):
        np.testing.assert_allclose(target.numpy(), teacher.refine(obs.numpy(), action.numpy()), atol=1e-6)


def test_matched_labels_ignore_which_label_a_group_gets() -> None:
    teacher = th.tensor([[0, 0, 1, 2, 2, 1]])
    logits = 5.0 * th.nn.functional.one_hot(th.tensor([[2, 2, 0, 1, 1, 0]]), 3).transpose(1, 2).float()
    np.testing.assert_array_equal(matched_labels(logits, teacher).numpy(), [[2, 2, 0, 1, 1, 0]])  # the actor's own names
    relabelled = th.tensor([[1, 1, 2, 0, 0, 2]])  # the same groups under other names: the same targets
    np.testing.assert_array_equal(matched_labels(logits, relabelled), matched_labels(logits, teacher))


def test_imitation_trains_the_actor_towards_the_teacher_and_logs_it() -> None:
    model = set_model(imitation_weight=1.0, critic_gradient=False, learning_starts=50)
    critic_before = [parameter.clone() for parameter in model.critic.parameters()]
    model.learn(50)
    batch = model.replay_buffer.sample(256)
    first, _ = imitation_loss(model.actor.parts(batch.observations), batch.teacher_actions, 5, 3)
    model.learn(400, reset_num_timesteps=False)
    last, _ = imitation_loss(model.actor.parts(batch.observations), batch.teacher_actions, 5, 3)
    assert last.item() < first.item()
    logged = model.logger.name_to_value
    assert 0.0 <= logged["ccddpg/imitation_agreement"] <= 1.0 and "ccddpg/state_row_scale" in logged
    for before, after in zip(critic_before, model.critic.parameters(), strict=True):
        th.testing.assert_close(after, before)  # without the critic's gradient the critic is not trained


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"imitation_weight": -1.0}, r"imitation_weight must be a finite number in \[0, inf\), got -1.0"),
        ({"critic_gradient": False}, "critic_gradient=False leaves the actor nothing to learn from"),
        (
            {"imitation_weight": 1.0, "replay_buffer_kwargs": {"teacher": "oracle"}},
            r"teacher must be one of \(.*'twin-swap-descent'.*\), got 'oracle'",
        ),
    ],
)
def test_bad_expert_iteration_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        set_model(**kwargs)


def test_imitation_needs_the_set_policy() -> None:
    with pytest.raises(ValueError, match="imitation_weight > 0 needs policy 'SetPolicy'"):
        CCDDPG("CCDDPGPolicy", SatGroundEnv(n_uavs=5), imitation_weight=1.0)
    assert issubclass(CCDDPG.policy_aliases["SetPolicy"], SetPolicy)


def test_the_two_start_teacher_keeps_the_better_descent() -> None:
    model = set_model(imitation_weight=1.0, replay_buffer_kwargs={"from_equal_split": True})
    model.learn(40)
    buffer, config = model.replay_buffer, model.env_config
    assert isinstance(buffer, TeacherReplayBuffer) and buffer.from_equal_split
    teacher = TwinSearch(config, "twin-descent")
    for position in range(buffer.pos):
        observation, action = buffer.observations[position, 0], buffer.actions[position, 0]
        data = observation * config.data_mb_range[1]
        from_action = teacher.refine(observation, action)
        scores = [
            float(allocation_cost(config, data, project(target, 5, 3, 32), config.mu)["objective"])
            for target in (buffer.teacher_actions[position, 0], from_action)
        ]
        from_split = teacher.best(data, config.mu, equal_split(config))
        split_score = float(allocation_cost(config, data, from_split, config.mu)["objective"])
        assert scores[0] <= scores[1] * (1 + 1e-6)  # never worse than the descent from the executed action
        assert scores[0] <= split_score * (1 + 1e-6)  # nor than the one from the equal split (float32 actions)


def test_the_size_token_tells_the_actor_its_n(tmp_path: Path) -> None:
    model = set_model(n_uavs=6, policy_kwargs={"decision": "actor", "rank_cycles": True, "size_token": True})
    model.save(tmp_path / "sized")
    loaded = CCDDPG.load(tmp_path / "sized", env=SatGroundEnv(n_uavs=12))
    assert loaded.policy_kwargs["n_uavs"] == 12
    for sized in (model, loaded):
        n_uavs = sized.policy_kwargs["n_uavs"]
        obs = th.as_tensor(observations(sized.env_config, 4), dtype=th.float32)
        features = sized.actor.token_features(obs)
        assert features.shape == (4, n_uavs, 5 + 2 * MAX_SATELLITES + 1)
        th.testing.assert_close(features[..., -1], th.full((4, n_uavs), n_uavs / (3 * MAX_SATELLITES)))


@pytest.mark.parametrize(("n_uavs", "n_satellites"), [(1, 3), (5, 3), (11, 8), (64, 8)])
def test_the_untrained_dealing_actor_deals_in_snake_order_and_keeps_it_through_save_and_resize(
    n_uavs: int, n_satellites: int, tmp_path: Path
) -> None:
    model = set_model(n_uavs, n_satellites, policy_kwargs={"decision": "actor", "rank_cycles": True, "size_deal": True})
    obs = th.as_tensor(observations(model.env_config, 32), dtype=th.float32)
    data = obs[:, :n_uavs].numpy()
    with th.no_grad():
        labels = model.actor.parts(obs)["logits"].argmax(dim=1).numpy()
    ranks = np.argsort(np.argsort(data, axis=1), axis=1)
    np.testing.assert_array_equal(labels, snake_deal(ranks, n_satellites))
    model.save(tmp_path / "dealing")
    bigger = SatGroundEnv(n_uavs=n_uavs + 3, n_satellites=n_satellites, channels_total=max(32, 3 * n_uavs + 9))
    resized = CCDDPG.load(tmp_path / "dealing", env=bigger)
    assert resized.actor.deal_weight is not None
    th.testing.assert_close(resized.actor.deal_weight, model.actor.deal_weight)

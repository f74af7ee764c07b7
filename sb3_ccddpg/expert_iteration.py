"""Expert iteration for CC-DDPG: the actor imitates the twin's descent started from its own executed action.

Each collected transition is labelled once, when it is stored (:class:`TeacherReplayBuffer`): the teacher is
``"twin-descent"`` (:class:`~sb3_ccddpg.solvers.search.TwinSearch`; ``teacher="twin-swap-descent"`` for its
neighbourhood with swaps) started from the executed action, so its target moves a few UAVs in the actor's own
satellite numbering. Imitating the exact oracle instead does not
work: satellites are identical, its labels are arbitrary and its partition jumps between near-ties.

The loss (:func:`imitation_loss`) does not care which label a group gets: per sample, the teacher's groups are
matched to the actor's satellites by the assignment that costs the actor's scores least (the Hungarian method
over M × M), then each UAV's satellite scores are pushed towards its matched group (cross-entropy), and the
channel fractions and each UAV's CPU share towards the teacher's (squared errors).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from scipy.optimize import linear_sum_assignment
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.vec_env import VecNormalize
from torch.nn import functional as F

from sb3_ccddpg.solvers.search import REFINEMENTS, TwinSearch
from sb3_ccddpg_envs import SatGroundConfig, allocation_cost, encode, project
from sb3_ccddpg_envs.reference import equal_split

__all__ = ["TEACHER", "TeacherReplayBuffer", "TeacherSamples", "imitation_loss", "matched_labels"]

#: The decision mode that labels every transition, by default.
TEACHER = "twin-descent"


class TeacherSamples(NamedTuple):
    """SB3's ``ReplayBufferSamples`` fields, then the teacher's action for each sampled transition."""

    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    discounts: th.Tensor | None
    teacher_actions: th.Tensor


class TeacherReplayBuffer(ReplayBuffer):
    """SB3's replay buffer that also stores, per transition, the teacher's action: ``"twin-descent"`` on the
    twin's state started from the executed action (about 3 ms per transition at N = 11).

    :param buffer_size: transitions kept
    :param observation_space: observation space
    :param action_space: action space
    :param device: torch device of the samples
    :param n_envs: envs stepped together
    :param optimize_memory_usage: SB3's memory-efficient variant
    :param handle_timeout_termination: SB3's timeout handling
    :param decision_config: the env configuration the teacher scores with (``CCDDPG`` passes its env's)
    :param teacher: the decision mode that labels each transition, one of
        :data:`~sb3_ccddpg.solvers.search.REFINEMENTS` (default :data:`TEACHER`)
    :param from_equal_split: also descend from the equal split's assignment and keep the better of the two
        targets (twice the teacher's time): from an untrained actor's assignment (often every UAV on one
        satellite) a descent of at most 10 single-UAV moves cannot reach a good partition at large N
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        *,
        decision_config: SatGroundConfig,
        teacher: str = TEACHER,
        from_equal_split: bool = False,
    ) -> None:
        if teacher not in REFINEMENTS:
            raise ValueError(f"teacher must be one of {REFINEMENTS}, got {teacher!r}")
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )
        self.teacher = TwinSearch(decision_config, teacher)
        self.from_equal_split = from_equal_split
        self.teacher_actions = np.zeros_like(self.actions)

    def add(
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """SB3's ``add``, and the teacher's action for the same transition."""
        target = self.teacher.refine(obs, action).reshape(self.n_envs, -1)
        if self.from_equal_split:
            target = self._better(obs.reshape(self.n_envs, -1), target)
        self.teacher_actions[self.pos] = target
        super().add(obs, next_obs, action, reward, done, infos)

    def _better(self, observations: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per env, the better on the twin's state of ``targets`` and the descent from the equal split."""
        config = self.teacher.config
        start = equal_split(config)
        better = targets.copy()
        for k, (observation, target) in enumerate(zip(observations, targets, strict=True)):
            data = observation[: config.n_uavs] * config.data_mb_range[1]
            mu = float(observation[config.n_uavs]) if config.observe_mu else config.mu
            candidate = encode(self.teacher.best(data, mu, start), config.channels_total)
            allocations = [
                project(action, config.n_uavs, config.n_satellites, config.channels_total) for action in (target, candidate)
            ]
            scores = [float(allocation_cost(config, data, allocation, mu)["objective"]) for allocation in allocations]
            if scores[1] < scores[0]:
                better[k] = candidate
        return better

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> TeacherSamples:  # type: ignore[override]
        # SB3 draws the env index of each sample inside _get_samples: draw it here, with the same generator, so
        # the teacher's action is the one of the same transition.
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))  # noqa: NPY002 (SB3's generator)
        if self.optimize_memory_usage:
            next_obs = self._normalize_obs(self.observations[(batch_inds + 1) % self.buffer_size, env_indices, :], env)
        else:
            next_obs = self._normalize_obs(self.next_observations[batch_inds, env_indices, :], env)
        data = (
            self._normalize_obs(self.observations[batch_inds, env_indices, :], env),
            self.actions[batch_inds, env_indices, :],
            next_obs,
            (self.dones[batch_inds, env_indices] * (1 - self.timeouts[batch_inds, env_indices])).reshape(-1, 1),
            self._normalize_reward(self.rewards[batch_inds, env_indices].reshape(-1, 1), env),
        )
        observations, actions, next_observations, dones, rewards = map(self.to_torch, data)
        teacher = self.to_torch(self.teacher_actions[batch_inds, env_indices, :])
        return TeacherSamples(observations, actions, next_observations, dones, rewards, None, teacher)


def matched_labels(logits: th.Tensor, teacher_association: th.Tensor) -> th.Tensor:
    """The teacher's satellite of each UAV, relabelled to the actor's satellite its group matches best.

    :param logits: the actor's satellite scores, shape ``(batch, M, N)``
    :param teacher_association: the teacher's satellite of each UAV, integers, shape ``(batch, N)``
    :return: relabelled targets, shape ``(batch, N)``: for each sample, the permutation of satellite labels that
        minimises the cross-entropy of the actor's scores against the teacher's groups
    """
    n_satellites = logits.shape[1]
    log_probabilities = F.log_softmax(logits.detach(), dim=1).cpu().numpy()  # (B, M, N)
    teacher = teacher_association.cpu().numpy()
    groups = teacher[:, None, :] == np.arange(n_satellites)[None, :, None]  # (B, M teacher groups, N)
    # cost[b, j, k]: minus the log-probability the actor gives satellite j summed over teacher group k's UAVs
    cost = -np.einsum("bjn,bkn->bjk", log_probabilities, groups.astype(log_probabilities.dtype))
    relabel = np.empty((len(teacher), n_satellites), dtype=np.int64)
    for b, matrix in enumerate(cost):
        actor_satellites, teacher_groups = linear_sum_assignment(matrix)
        relabel[b, teacher_groups] = actor_satellites
    return th.as_tensor(np.take_along_axis(relabel, teacher, axis=1), device=logits.device)


def imitation_loss(
    parts: dict[str, th.Tensor], teacher_actions: th.Tensor, n_uavs: int, n_satellites: int
) -> tuple[th.Tensor, dict[str, float]]:
    """The label-symmetric imitation loss of the actor's decisions against the teacher's actions.

    :param parts: :meth:`~sb3_ccddpg.set_policy.SetActor.parts` of the sampled observations
    :param teacher_actions: the teacher's actions, shape ``(batch, N + M·N)``
    :param n_uavs: N
    :param n_satellites: M
    :return: the loss (cross-entropy of the matched satellites + squared errors of the channel fractions × N and of
        each UAV's share) and what to record: the loss's three terms and ``agreement``, the share of UAVs whose
        satellite (argmax) is the teacher's after matching
    """
    teacher_channels = teacher_actions[:, :n_uavs]
    teacher_share = teacher_actions[:, n_uavs:].reshape(-1, n_satellites, n_uavs)
    targets = matched_labels(parts["logits"], teacher_share.argmax(dim=1))
    assignment = F.cross_entropy(parts["logits"], targets)
    channels = F.mse_loss(n_uavs * parts["channels"], n_uavs * teacher_channels)
    shares = F.mse_loss(parts["shares"], teacher_share.sum(dim=1))
    agreement = (parts["logits"].argmax(dim=1) == targets).float().mean()
    record = {
        "assignment_loss": float(assignment.item()),
        "channel_loss": float(channels.item()),
        "share_loss": float(shares.item()),
        "agreement": float(agreement.item()),
    }
    return assignment + channels + shares, record

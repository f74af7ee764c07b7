"""One size-independent CC-DDPG model trained at several N in turn (a mix of sizes).

A :class:`~sb3_ccddpg.set_policy.SetPolicy`'s weights serve any N (and any M up to its slots), but a model
trained at one N decides poorly at others (docs/scale/set: trained at N = 32, its exact fill is 1.27–1.65× the
bound at N = 11–64). SB3's replay buffer and env have one observation and action shape, so a mix of sizes is
trained as one model per size, all holding the same weights: :func:`learn_across_sizes` lets each train for a
turn of ``turn_steps`` on its own env and replay buffer, then hands the weights and the optimisers' state
(Adam's moments) on to the next size's model. Every size's buffer keeps its own transitions (and, with expert
iteration, its own teacher labels), so the actor and critic see every size throughout the training.
"""

from __future__ import annotations

from collections.abc import Sequence

from stable_baselines3.common.type_aliases import GymEnv
from tqdm.auto import tqdm

from sb3_ccddpg.ccddpg import CCDDPG

__all__ = ["hand_on", "learn_across_sizes"]


def hand_on(source: CCDDPG, target: CCDDPG) -> None:
    """Give ``target`` the weights (targets included) and the optimisers' state of ``source``.

    :raises ValueError: when the two policies' weights differ in shape (policies that are not size-independent,
        or other widths)
    """
    try:
        target.policy.load_state_dict(source.policy.state_dict())
    except RuntimeError as error:
        raise ValueError(f"the models' weights do not match (SetPolicy's of the same widths serve any N): {error}") from None
    target.actor.optimizer.load_state_dict(source.actor.optimizer.state_dict())
    target.critic.optimizer.load_state_dict(source.critic.optimizer.state_dict())


def learn_across_sizes(
    model: CCDDPG,
    envs: Sequence[GymEnv],
    steps_per_size: int,
    turn_steps: int = 1000,
    progress_bar: bool = False,
) -> list[CCDDPG]:
    """Train ``model``'s weights on every env in turn, ``turn_steps`` at a time, until each has had ``steps_per_size``.

    Each env gets one model, :meth:`CCDDPG.resized <sb3_ccddpg.ccddpg.CCDDPG.resized>` from ``model`` (its
    settings and weights, an empty replay buffer, whose first ``learning_starts`` steps are uniform
    exploration as in any training); after each turn the weights and optimiser state go on to the next size's
    model (:func:`hand_on`). ``model`` itself is not trained. Calling the function again with the models it
    returned is not a resume: their replay buffers would be lost. SB3 computes a schedule's progress per
    ``learn`` call, so a learning-rate schedule restarts every turn: use a constant rate (CC-DDPG's default).

    :param model: a CC-DDPG with a ``SetPolicy``, untrained or trained
    :param envs: ``SatGround-v0`` envs, one per size (any N; M up to the policy's slots)
    :param steps_per_size: env steps each size's model takes in all, ≥ 1
    :param turn_steps: env steps of one turn, ≥ 1
    :param progress_bar: show a bar over all the steps
    :return: one model per env, each holding the final weights (save any one: they decide alike at its size, and
        :meth:`CCDDPG.load <sb3_ccddpg.ccddpg.CCDDPG.load>` with an env of another size resizes it)
    :raises ValueError: for no envs, a step count below 1, or an env whose size the policy cannot serve
    """
    if not envs:
        raise ValueError("envs must hold at least one SatGround-v0 env")
    for name, value in (("steps_per_size", steps_per_size), ("turn_steps", turn_steps)):
        if value < 1:
            raise ValueError(f"{name} must be ≥ 1, got {value}")
    models = [model.resized(env) for env in envs]
    for sized in models:
        hand_on(model, sized)
    bar = tqdm(total=steps_per_size * len(models), desc="training across sizes", disable=not progress_bar)
    previous = models[0]
    with bar:
        while any(sized.num_timesteps < steps_per_size for sized in models):
            for sized in models:
                steps = min(turn_steps, steps_per_size - sized.num_timesteps)
                if steps <= 0:
                    continue
                hand_on(previous, sized)
                sized.learn(steps, reset_num_timesteps=False)
                bar.update(steps)
                previous = sized
    for sized in models:
        hand_on(previous, sized)
    return models

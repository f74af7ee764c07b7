"""The one evaluation harness: every table, figure, benchmark and tuning objective scores methods here.

A *method* is anything with a ``name`` and ``allocate(data_mb, mu) -> Allocation`` (see :class:`AllocationMethod`):
a baseline, a solver, or an SB3 model wrapped in :class:`PolicyMethod`. :func:`evaluate` draws a fixed, seeded
set of held-out states, times each decision and scores all allocations with the batched cost model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from sb3_ccddpg_envs import Allocation, SatGroundConfig, allocation_cost, observe, project, twin_view

__all__ = [
    "METRICS",
    "TWIN_VIEW_STREAM",
    "AllocationMethod",
    "PolicyMethod",
    "Predictor",
    "evaluate",
    "held_out_states",
    "summarize",
]

#: Second word of the seed of the twin's view of the held-out states (the states use the seed alone).
TWIN_VIEW_STREAM = 1

#: Per-state columns of :func:`evaluate`'s frame, besides ``state`` and the per-UAV allocation.
METRICS = (
    "objective",
    "T_total",
    "T_up_max",
    "T_inter",
    "T_down",
    "T_train",
    "T_block",
    "E_total",
    "E_UAV",
    "E_com",
    "E_hover",
    "E_cmp",
    "C6_ok",
    "C7_ok",
    "decision_time_s",
)


@runtime_checkable
class AllocationMethod(Protocol):
    """What the harness asks of a method: a name and one allocation per state."""

    name: str

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """Decide the allocation for one state.

        :param data_mb: D_i of the state (MB), shape ``(N,)``
        :param mu: μ the state is scored with
        :return: a feasible allocation without batch dimensions
        """
        ...


class Predictor(Protocol):
    """Anything with SB3's ``predict``: an SB3 algorithm, or a model exported to ONNX
    (:class:`~sb3_ccddpg.onnx_policy.OnnxPolicy`)."""

    def predict(
        self,
        observation: NDArray[np.floating],
        state: tuple[NDArray[Any], ...] | None = None,
        episode_start: NDArray[np.bool_] | None = None,
        deterministic: bool = False,
    ) -> tuple[NDArray[Any], tuple[NDArray[Any], ...] | None]:
        """Actions for the observations, and the recurrent state (``None`` here)."""
        ...


class PolicyMethod:
    """An SB3 model as a method: observe the state as the env does, ``predict`` deterministically, decode.

    :param model: a trained SB3 algorithm (CC-DDPG or any other) for ``SatGround-v0`` with this config, or anything
        with its ``predict`` (:class:`Predictor`)
    :param config: the env configuration the model was trained on
    :param name: label in tables
    :param action_map: applied to the model's action before decoding, when a wrapper changed its meaning
    """

    def __init__(
        self,
        model: BaseAlgorithm | Predictor,
        config: SatGroundConfig,
        name: str,
        action_map: Callable[[NDArray[np.float32]], NDArray[np.floating]] | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.name = name
        self.action_map = action_map

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """Observation → deterministic action → :func:`project`."""
        action, _ = self.model.predict(observe(self.config, data_mb, mu), deterministic=True)
        if self.action_map is not None:
            action = self.action_map(action)
        return project(action, self.config.n_uavs, self.config.n_satellites, self.config.channels_total)


def held_out_states(config: SatGroundConfig, n_states: int, seed: int) -> NDArray[np.float64]:
    """A fixed set of states: D_i ~ U[data_mb_range] i.i.d., from ``seed`` alone.

    :param config: system parameters (N and the data range)
    :param n_states: number of states, ≥ 1
    :param seed: seed of the draw; the same seed gives the same states
    :return: data sizes (MB), shape ``(n_states, N)``
    """
    if n_states < 1:
        raise ValueError(f"n_states must be an integer ≥ 1, got {n_states!r}")
    low, high = config.data_mb_range
    return np.random.default_rng(seed).uniform(low, high, (n_states, config.n_uavs))


def evaluate(
    method: AllocationMethod,
    config: SatGroundConfig,
    n_states: int = 1000,
    seed: int = 0,
    *,
    mu: float | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Score a method on held-out states.

    With a twin error in ``config`` (``twin_error``, ``twin_bias``) the method decides on the twin's view of each
    state (:func:`~sb3_ccddpg_envs.twin_view`, drawn from ``seed`` too, so every method sees the same view) and
    is scored on the true state, as in the env.

    :param method: the method to evaluate
    :param config: system parameters
    :param n_states: number of held-out states
    :param seed: seed of the held-out states (:func:`held_out_states`)
    :param mu: μ to score with; ``None`` means ``config.mu``
    :param progress: show a progress bar
    :return: one row per state: ``state``, ``method``, ``mu``, the columns of :data:`METRICS` (times in s,
        energies in J, ``decision_time_s`` the wall time of ``allocate``) and the allocation (``channels``,
        ``association`` as tuples)
    """
    weight = config.mu if mu is None else float(mu)
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"mu must be in [0, 1], got {mu!r}")
    states = held_out_states(config, n_states, seed)
    seen = twin_view(config, states, np.random.default_rng([seed, TWIN_VIEW_STREAM]))
    allocations = []
    decision_times = np.empty(n_states)
    for k, data in enumerate(tqdm(seen, desc=method.name, disable=not progress, leave=False)):
        start = time.perf_counter()
        allocations.append(method.allocate(data, weight))
        decision_times[k] = time.perf_counter() - start
    batch = Allocation(
        np.stack([a.channels for a in allocations]),
        np.stack([a.association for a in allocations]),
        np.stack([a.cpu_share for a in allocations]),
    )
    terms = allocation_cost(config, states, batch, weight)
    return pd.DataFrame(
        {
            "state": np.arange(n_states),
            "method": method.name,
            "mu": weight,
            "objective": terms["objective"],
            "T_total": terms["T_total"],
            "T_up_max": terms["T_up"].max(axis=-1),
            "T_inter": terms["T_inter"],
            "T_down": terms["T_down"],
            "T_train": terms["T_train"],
            "T_block": terms["T_block"],
            "E_total": terms["E_total"],
            "E_UAV": terms["E_UAV"],
            "E_com": terms["E_com"],
            "E_hover": terms["E_hover"],
            "E_cmp": terms["E_cmp"].sum(axis=-1),
            "C6_ok": terms["C6_ok"],
            "C7_ok": terms["C7_ok"],
            "decision_time_s": decision_times,
            "channels": [tuple(int(c) for c in row) for row in batch.channels],
            "association": [tuple(int(a) for a in row) for row in batch.association],
        }
    )


def summarize(frames: list[pd.DataFrame], reference: str | None = None) -> pd.DataFrame:
    """Mean and 95 % confidence half-width per method, and the gap to a reference method.

    :param frames: outputs of :func:`evaluate` on the same states
    :param reference: method name whose mean objective the gap is measured against (e.g. the oracle)
    :return: one row per method: ``objective``, ``objective_ci95``, ``T_total``, ``T_total_ci95``, ``E_total``,
        ``E_total_ci95``, ``C6_violation_rate``, ``C7_violation_rate``, ``decision_ms`` and, with a reference,
        ``gap_pct`` = 100·(mean objective / reference mean objective − 1)
    """
    rows = []
    for frame in frames:
        row: dict[str, float | str] = {"method": str(frame["method"].iloc[0]), "n_states": len(frame)}
        for column in ("objective", "T_total", "E_total"):
            values = frame[column].to_numpy()
            row[column] = float(values.mean())
            row[f"{column}_ci95"] = float(1.96 * values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
        row["C6_violation_rate"] = float(1.0 - frame["C6_ok"].mean())
        row["C7_violation_rate"] = float(1.0 - frame["C7_ok"].mean())
        row["decision_ms"] = float(1e3 * frame["decision_time_s"].mean())
        rows.append(row)
    table = pd.DataFrame(rows).set_index("method")
    if reference is not None:
        table["gap_pct"] = 100.0 * (table["objective"] / table.loc[reference, "objective"] - 1.0)
    return table

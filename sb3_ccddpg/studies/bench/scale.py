"""Scale benchmark: every method from N = 6 to 64 UAVs and M = 3 to 8 satellites, against a certified bound.

A *cell* is one scenario: N UAVs, M satellites, ξ_total = max(32, 3N) channels and the configuration's own
normalisers (``reference_n_uavs=None``, spec §5a), at μ = 0.5 (and μ = 0.1, 0.9 at N = 32, M = 8). Each
cell's methods are scored by the common harness on the same held-out states:

- ``bound``: :func:`~sb3_ccddpg.solvers.bounds.lower_bound`, certified ≤ the optimum of every state;
- ``exact``: the branch-and-bound of :meth:`~sb3_ccddpg.solvers.oracle.Oracle.solve` under a time limit per
  state; its row says on how many states it proved optimality, and where it proved all of them the
  cell's optimum is known;
- ``equal split``, ``RA``, ``GA`` (its budget in the table), ``twin-descent`` and ``twin-swap-descent`` from the
  equal split (the descents of :class:`~sb3_ccddpg.solvers.search.TwinSearch` with no learned proposal), and
  ``snake-deal`` (:class:`~sb3_ccddpg.solvers.SnakeDeal`: the UAVs dealt in size order, back and
  forth, with the exact channels and shares: one fill);
- ``ccddpg-paper`` (the paper's actor alone) and ``ccddpg`` (its default decision): one CC-DDPG trained per
  cell for ``--train-steps`` steps, the two evaluated from the same training;
- ``set-actor`` and ``set-exact-fill``: CC-DDPG with the size-independent :class:`~sb3_ccddpg.set_policy.SetPolicy`
  trained per cell by expert iteration (:data:`SET_HYPERPARAMETERS`), deciding alone or with the exact
  channels and shares for its assignment; ``set-swap-descent``: the twin's swap descent from its assignment;
- ``set-transfer-actor`` and ``set-transfer-fill``: the same two decisions of the set model trained at
  N = ``--transfer-n`` (same M and μ), loaded at this cell's N: what one model gives at sizes it was not
  trained at (scored after every other job, since they need that training);
- ``set-mixed-actor`` and ``set-mixed-fill``: the same two decisions of one set model trained across the sizes
  ``--mixed-n`` in turn (same M and μ; :func:`~sb3_ccddpg.size_mixing.learn_across_sizes`, ``--train-steps``
  at each size), loaded at this cell's N: one model for every size (trained before the transfer jobs, one
  training per (M, μ); not resumable: a stopped mixed training starts again);
- ``set-deal-actor``, ``set-deal-fill``, ``set-deal-transfer-actor``, ``set-deal-transfer-fill``,
  ``set-deal-mixed-actor`` and ``set-deal-mixed-fill``: the same with the actor's satellite scores started from
  the snake deal (``size_deal``, :data:`SET_DEAL_HYPERPARAMETERS`), per cell, from the model trained at
  ``--transfer-n`` and from one model trained across ``--mixed-n``.

Each (cell, method) is one job (a cell's learned methods of one training one job together); its per-state rows are
written to ``--output``/rows/<cell>/<method>.csv when it finishes, and the trained agents live in
``--output``/runs/<cell> (checkpoints kept), so rerunning the same command continues where it stopped,
``--train-only`` trains the cells' agents without scoring anything, and ``--report`` writes the tables and
plots from the rows so far. Outputs: ``scale.csv`` (one row per cell and method), ``scale.md`` and ``scale.png`` (ratio to the
bound against N per M, and decision time against N).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch as th
from numpy.typing import NDArray
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from sb3_ccddpg.agents import agent_method, make_agent
from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.evaluation import AllocationMethod, evaluate, held_out_states
from sb3_ccddpg.size_mixing import learn_across_sizes
from sb3_ccddpg.solvers.baselines import EqualSplit, GeneticAlgorithm, RandomAlgorithm, SnakeDeal
from sb3_ccddpg.solvers.bounds import lower_bound
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.search import DEFAULT_DECISION, SearchFromEqualSplit
from sb3_ccddpg.studies.compare import decided_copy
from sb3_ccddpg.studies.executors import add_ray_argument, job_executor
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.training import TrainSettings, resume, save_atomically, train
from sb3_ccddpg_envs import Allocation, SatGroundConfig, SatGroundEnv

HELD_OUT_SEED = 1_000_000
N_UAVS = (6, 11, 16, 24, 32, 48, 64)
N_SATELLITES = (3, 5, 8)
#: μ values beyond 0.5, per (N, M).
EXTRA_MUS: dict[tuple[int, int], tuple[float, ...]] = {(32, 8): (0.1, 0.9)}
METHODS = (
    "bound",
    "exact",
    "equal split",
    "RA",
    "GA",
    "twin-descent",
    "twin-swap-descent",
    "snake-deal",
    "ccddpg-paper",
    "ccddpg",
    "set-actor",
    "set-exact-fill",
    "set-swap-descent",
    "set-transfer-actor",
    "set-transfer-fill",
    "set-mixed-actor",
    "set-mixed-fill",
    "set-deal-actor",
    "set-deal-fill",
    "set-deal-transfer-actor",
    "set-deal-transfer-fill",
    "set-deal-mixed-actor",
    "set-deal-mixed-fill",
)
#: The set policy's training in the sweep: expert iteration on the imitation loss alone (the best measured at
#: N = 11 by ``bench quality``, docs/quality/set), with the rank cycles in the actor's tokens (without them the
#: actor's assignments fall apart at N ≥ 16, M = 8: docs/scale/set).
SET_HYPERPARAMETERS: dict[str, Any] = {
    "policy": "SetPolicy",
    "imitation_weight": 1.0,
    "critic_gradient": False,
    "policy_kwargs": {"decision": "actor", "rank_cycles": True},
}
#: The mixed-size training's: the set training's. With ``size_token=True`` in the actor's tokens the mixed model
#: measured worse at every N (docs/scale/set, one seed), so the tokens stay the per-size training's.
MIXED_HYPERPARAMETERS: dict[str, Any] = SET_HYPERPARAMETERS
#: The set training with the actor's satellite scores started from the snake deal by data size.
SET_DEAL_HYPERPARAMETERS: dict[str, Any] = {
    **SET_HYPERPARAMETERS,
    "policy_kwargs": {**SET_HYPERPARAMETERS["policy_kwargs"], "size_deal": True},
}
#: Each training's agent and constructor arguments, and the suffix of its run folder.
TRAININGS: dict[str, tuple[str, dict[str, Any], str]] = {
    "paper": ("ccddpg-paper", {}, ""),
    "set": ("ccddpg", SET_HYPERPARAMETERS, "-set"),
    "set-deal": ("ccddpg", SET_DEAL_HYPERPARAMETERS, "-set-deal"),
}
#: Each learned method's training and decision mode (``set-transfer``, ``set-deal-transfer``: that training of
#: another N; ``set-mixed``, ``set-deal-mixed``: one such training across the sizes ``Budgets.mixed_n``).
LEARNED = {
    "ccddpg-paper": ("paper", "actor"),
    "ccddpg": ("paper", DEFAULT_DECISION),
    "set-actor": ("set", "actor"),
    "set-exact-fill": ("set", "exact-fill"),
    "set-swap-descent": ("set", "twin-swap-descent"),
    "set-transfer-actor": ("set-transfer", "actor"),
    "set-transfer-fill": ("set-transfer", "exact-fill"),
    "set-mixed-actor": ("set-mixed", "actor"),
    "set-mixed-fill": ("set-mixed", "exact-fill"),
    "set-deal-actor": ("set-deal", "actor"),
    "set-deal-fill": ("set-deal", "exact-fill"),
    "set-deal-transfer-actor": ("set-deal-transfer", "actor"),
    "set-deal-transfer-fill": ("set-deal-transfer", "exact-fill"),
    "set-deal-mixed-actor": ("set-deal-mixed", "actor"),
    "set-deal-mixed-fill": ("set-deal-mixed", "exact-fill"),
}
#: The trainings that load another cell's (or several cells') model, scored after every other job.
#: The trainings across sizes: their hyperparameters and the prefix of their run folder.
MIXED_TRAININGS: dict[str, tuple[dict[str, Any], str]] = {
    "set-mixed": (MIXED_HYPERPARAMETERS, "mixed"),
    "set-deal-mixed": (SET_DEAL_HYPERPARAMETERS, "deal-mixed"),
}
#: The trainings that load another N's model: the training of that N they load.
TRANSFER_TRAININGS = {"set-transfer": "set", "set-deal-transfer": "set-deal"}
LOADED_TRAININGS = (*TRANSFER_TRAININGS, *MIXED_TRAININGS)
#: Env steps of one size's turn in a mixed training.
MIXED_TURN_STEPS = 1000
#: Defaults of ``--quick``.
QUICK: dict[str, Any] = {
    "n_uavs": [6, 11],
    "n_satellites": [3, 5],
    "n_states": 20,
    "n_states_large": 10,
    "ga_evaluations": 200,
    "train_steps": 500,
    "transfer_n": 6,
    "mixed_n": (6, 11),
}


@dataclass(frozen=True)
class Cell:
    """One scenario of the sweep.

    :param n_uavs: N
    :param n_satellites: M
    :param mu: μ
    """

    n_uavs: int
    n_satellites: int
    mu: float = 0.5

    @property
    def name(self) -> str:
        """Folder name of the cell."""
        return f"n{self.n_uavs}_m{self.n_satellites}_mu{self.mu:g}"

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """The cell's configuration fields besides N and μ (spec §5a)."""
        return {"n_satellites": self.n_satellites, "channels_total": max(32, 3 * self.n_uavs), "reference_n_uavs": None}

    def config(self) -> SatGroundConfig:
        """The cell's configuration."""
        return SatGroundConfig(n_uavs=self.n_uavs, mu=self.mu, **self.env_kwargs)


@dataclass(frozen=True)
class Budgets:
    """What each method may spend, stated in every table.

    :param n_states: held-out states per cell
    :param n_states_large: held-out states per cell at N ≥ 48
    :param ga_evaluations: GA evaluations per state
    :param exact_seconds: time limit of the branch-and-bound per state (s)
    :param exact_max_n: largest N the branch-and-bound is run at
    :param train_steps: CC-DDPG training steps per cell (each training)
    :param seed: training seed
    :param transfer_n: N of the set model the transfer methods load at every N
    :param mixed_n: the N values the mixed set model is trained across
    """

    n_states: int = 200
    n_states_large: int = 100
    ga_evaluations: int = 2000
    exact_seconds: float = 2.0
    exact_max_n: int = 24
    train_steps: int = 20_000
    seed: int = 0
    transfer_n: int = 32
    mixed_n: tuple[int, ...] = (11, 16, 32, 64)

    def states(self, cell: Cell) -> int:
        """Held-out states of a cell."""
        return self.n_states_large if cell.n_uavs >= 48 else self.n_states


def cells(n_uavs: Iterable[int] = N_UAVS, n_satellites: Iterable[int] = N_SATELLITES) -> list[Cell]:
    """The sweep's cells: every (N, M) at μ = 0.5, plus :data:`EXTRA_MUS`."""
    return [Cell(n, m, mu) for n in n_uavs for m in n_satellites for mu in (0.5, *EXTRA_MUS.get((n, m), ()))]


class _Exact:
    """The branch-and-bound as a method; remembers whether each state was proved optimal."""

    name = "exact"

    def __init__(self, config: SatGroundConfig, seconds: float) -> None:
        self.oracle = Oracle(config)
        self.seconds = seconds
        self.proved: list[bool] = []

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        solution = self.oracle.solve(data_mb, mu, time_limit=self.seconds)
        self.proved.append(solution.proved_optimal)
        return solution.allocation


def _trained(cell: Cell, budgets: Budgets, output: Path, training: str = "paper") -> tuple[CCDDPG, float]:
    """The cell's CC-DDPG of a training (trained or resumed to ``train_steps``) and its training wall time (s).

    :param training: one of :data:`TRAININGS`
    """
    th.set_num_threads(1)  # one core per job
    algorithm, hyperparameters, suffix = TRAININGS[training]
    run_dir = output / "runs" / f"{cell.name}{suffix}"
    timing = run_dir / "train_seconds.json"
    spent = json.loads(timing.read_text())["seconds"] if timing.exists() else 0.0
    start = time.perf_counter()
    settings = TrainSettings(
        algorithm=algorithm,
        hyperparameters=hyperparameters,
        n_uavs=cell.n_uavs,
        mu=cell.mu,
        steps=budgets.train_steps,
        seed=budgets.seed,
        checkpoint_every=min(5000, budgets.train_steps),
        tensorboard=False,
        env_kwargs=cell.env_kwargs,
        eval_states=0,  # the benchmark scores every method itself
    )
    finished = run_dir / "model.zip"
    if finished.exists():
        kept = CCDDPG.load(finished)
        if kept.num_timesteps >= budgets.train_steps:
            return kept, spent
    model: BaseAlgorithm
    if (run_dir / "settings.json").exists():
        model = resume(run_dir, steps=budgets.train_steps, progress=False)
    else:
        model = train(settings, run_dir, progress=False)
    spent += time.perf_counter() - start
    write_atomically(timing, json.dumps({"seconds": spent}))
    if not isinstance(model, CCDDPG):
        raise TypeError(f"{run_dir} holds a {type(model).__name__}, not a CC-DDPG run")
    return model, spent


def trained_mixed(cell: Cell, budgets: Budgets, output: Path, training: str = "set-mixed") -> tuple[CCDDPG, float]:
    """The set model trained across the sizes ``budgets.mixed_n`` at the cell's M and μ, and its training wall time (s).

    Trained once (the training's hyperparameters in :data:`MIXED_TRAININGS`, ``--train-steps`` at each size,
    :data:`MIXED_TURN_STEPS` per turn) and kept in ``output``/runs/<prefix>_m<M>_mu<μ>; a kept model of fewer
    steps per size, other sizes or other policy settings is trained again from scratch.

    :param cell: any cell of the (M, μ) whose mixed model is wanted (its N is not used)
    :param budgets: the sweep's budgets (``train_steps`` per size, ``mixed_n``, ``seed``)
    :param output: the benchmark's folder
    :param training: one of :data:`MIXED_TRAININGS`
    :return: the model (attached to an env at the first of ``mixed_n``) and its training wall time (s)
    """
    th.set_num_threads(1)  # one core per job
    hyperparameters, prefix = MIXED_TRAININGS[training]
    run_dir = output / "runs" / f"{prefix}_m{cell.n_satellites}_mu{cell.mu:g}"
    finished, timing = run_dir / "model.zip", run_dir / "train_seconds.json"
    if finished.exists() and timing.exists():
        record = json.loads(timing.read_text())
        kept = record["steps_per_size"] >= budgets.train_steps and record["sizes"] == list(budgets.mixed_n)
        if kept and record.get("policy_kwargs") == hyperparameters["policy_kwargs"]:
            return CCDDPG.load(finished), record["seconds"]
    start = time.perf_counter()
    configs = [dataclasses.replace(cell, n_uavs=n).config() for n in budgets.mixed_n]
    model = make_agent("ccddpg", configs[0], budgets.seed, **hyperparameters)
    if not isinstance(model, CCDDPG):
        raise TypeError(f"make_agent('ccddpg') gave a {type(model).__name__}")
    models = learn_across_sizes(model, [SatGroundEnv(config) for config in configs], budgets.train_steps, MIXED_TURN_STEPS)
    seconds = time.perf_counter() - start
    run_dir.mkdir(parents=True, exist_ok=True)
    save_atomically(models[0].save, finished)
    record = {
        "seconds": seconds,
        "steps_per_size": budgets.train_steps,
        "sizes": list(budgets.mixed_n),
        "policy_kwargs": hyperparameters["policy_kwargs"],
    }
    write_atomically(timing, json.dumps(record))
    return models[0], seconds


def run_job(cell: Cell, method: str, budgets: Budgets, output: Path) -> pd.DataFrame:
    """Score one method on one cell's held-out states and write its per-state rows (or read them if written).

    :param cell: the scenario
    :param method: one of :data:`METHODS`
    :param budgets: the sweep's budgets
    :param output: the benchmark's folder
    :return: per-state rows: ``objective``, ``C6_ok``, ``C7_ok``, ``decision_time_s``, ``proved`` (exact),
        ``train_s`` (learned methods), with the cell's keys
    """
    rows_file = output / "rows" / cell.name / f"{method}.csv"
    if rows_file.exists():
        return pd.read_csv(rows_file)
    config = cell.config()
    n_states = budgets.states(cell)
    extra: dict[str, Any] = {}
    if method == "bound":
        states = held_out_states(config, n_states, HELD_OUT_SEED)
        values, seconds = [], []
        for data in states:
            start = time.perf_counter()
            values.append(lower_bound(config, data, cell.mu))
            seconds.append(time.perf_counter() - start)
        frame = pd.DataFrame({"objective": values, "C6_ok": True, "C7_ok": True, "decision_time_s": seconds})
    else:
        solver: AllocationMethod
        if method == "exact":
            solver = _Exact(config, budgets.exact_seconds)
        elif method == "equal split":
            solver = EqualSplit(config)
        elif method == "RA":
            solver = RandomAlgorithm(config, budgets.seed)
        elif method == "GA":
            solver = GeneticAlgorithm(config, budgets.ga_evaluations, seed=budgets.seed)
        elif method in ("twin-descent", "twin-swap-descent"):
            solver = SearchFromEqualSplit(config, method)
        elif method == "snake-deal":
            solver = SnakeDeal(config)
        else:
            training, decision = LEARNED[method]
            if training in TRANSFER_TRAININGS:
                source_cell = dataclasses.replace(cell, n_uavs=budgets.transfer_n)
                source, extra["train_s"] = _trained(source_cell, budgets, output, TRANSFER_TRAININGS[training])
                model = source.resized(SatGroundEnv(config))
            elif training in MIXED_TRAININGS:
                source, extra["train_s"] = trained_mixed(cell, budgets, output, training)
                model = source.resized(SatGroundEnv(config))
            else:
                model, extra["train_s"] = _trained(cell, budgets, output, training)
            solver = agent_method(decided_copy(model, decision, config), "ccddpg", config, method)
        frame = evaluate(solver, config, n_states, HELD_OUT_SEED)[["objective", "C6_ok", "C7_ok", "decision_time_s"]]
        if isinstance(solver, _Exact):
            extra["proved"] = solver.proved
    frame = frame.assign(**extra, state=np.arange(n_states), method=method, **dataclasses.asdict(cell))
    write_atomically(rows_file, frame.to_csv(index=False))
    return frame


def written_rows(output: Path) -> pd.DataFrame:
    """Every per-state row written so far under ``output``/rows."""
    frames = [pd.read_csv(path) for path in sorted((output / "rows").glob("*/*.csv"))]
    if not frames:
        raise FileNotFoundError(f"no rows under {output / 'rows'}; run the benchmark first")
    return pd.concat(frames, ignore_index=True)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and method: mean objective, ratios to the bound and (where proved) the optimum.

    :param rows: per-state rows of :func:`run_job`
    :return: columns ``n_uavs``, ``n_satellites``, ``mu``, ``method``, ``n_states``, ``objective``,
        ``ratio_to_bound``, ``ratio_to_optimum`` (NaN unless ``exact`` proved every state of the cell),
        ``C6_violation_rate``, ``C7_violation_rate``, ``decision_ms``, ``train_s``, ``proved_rate``
    """
    keys = ["n_uavs", "n_satellites", "mu"]
    grouped = rows.groupby([*keys, "method"], sort=False)
    table = grouped.agg(
        n_states=("objective", "size"),
        objective=("objective", "mean"),
        C6_ok=("C6_ok", "mean"),
        C7_ok=("C7_ok", "mean"),
        decision_ms=("decision_time_s", "mean"),
    ).reset_index()
    table["decision_ms"] *= 1e3
    table["C6_violation_rate"] = 1.0 - table.pop("C6_ok")
    table["C7_violation_rate"] = 1.0 - table.pop("C7_ok")
    for column in ("train_s", "proved"):
        if column in rows:
            table[column] = grouped[column].mean().to_numpy()
    table = table.rename(columns={"proved": "proved_rate"})
    per_cell = table.set_index(keys)
    bound = per_cell.loc[per_cell["method"] == "bound", "objective"]
    exact = per_cell[per_cell["method"] == "exact"]
    optimum = exact.loc[exact.get("proved_rate", pd.Series(dtype=float)) == 1.0, "objective"]
    cell_index = pd.MultiIndex.from_frame(table[keys])
    table["ratio_to_bound"] = table["objective"].to_numpy() / bound.reindex(cell_index).to_numpy()
    table["ratio_to_optimum"] = table["objective"].to_numpy() / optimum.reindex(cell_index).to_numpy()
    return table


def overview_markdown(table: pd.DataFrame, budgets: Budgets) -> str:
    """Per μ, one table of the ratio to the bound and one of ms per decision: a row per cell, a column per method."""
    methods = [method for method in METHODS if method in set(table["method"])]
    label = {"GA": f"GA ({budgets.ga_evaluations} evals)", "exact": f"exact (≤ {budgets.exact_seconds:g} s)"}
    parts = [
        f"States per cell: {budgets.n_states} ({budgets.n_states_large} at N ≥ 48), seed {HELD_OUT_SEED}. "
        f"ξ_total = max(32, 3N), own-N normalisers (`reference_n_uavs=None`). CC-DDPG: {budgets.train_steps} "
        f"training steps per cell, seed {budgets.seed}. The exact solver runs at N ≤ {budgets.exact_max_n}; "
        "its column gives the ratio and, in brackets, the share of states it proved optimal.\n"
    ]
    for mu, at_mu in table.groupby("mu"):
        for column, title, fmt in (
            ("ratio_to_bound", "mean objective / mean certified lower bound", "{:.3f}"),
            ("decision_ms", "ms per decision", "{:.3g}"),
        ):
            header = "| N | M | " + " | ".join(label.get(method, method) for method in methods) + " |"
            lines = [f"\n**μ = {mu:g}: {title}**\n", header, "|---|---|" + "---|" * len(methods)]
            for (n, m), rows in at_mu.groupby(["n_uavs", "n_satellites"]):
                by_method = rows.set_index("method")
                cells_text = []
                for method in methods:
                    if method not in by_method.index:
                        cells_text.append("")
                        continue
                    text = fmt.format(by_method.loc[method, column])
                    if method == "exact" and column == "ratio_to_bound":
                        text += f" ({by_method.loc[method, 'proved_rate']:.0%})"
                    cells_text.append(text)
                lines.append(f"| {n} | {m} | " + " | ".join(cells_text) + " |")
            parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def report(output: Path, budgets: Budgets) -> pd.DataFrame:
    """Write ``scale.csv``, ``scale.md`` and ``scale.png`` from the rows written so far.

    :return: the summary table
    """
    from sb3_ccddpg.studies.plots import save_figure, scale_curves  # matplotlib only where plots are drawn

    table = summary(written_rows(output))
    write_atomically(output / "scale.csv", table.to_csv(index=False))
    write_atomically(output / "scale.md", overview_markdown(table, budgets))
    save_figure(scale_curves(table), output / "scale.png")
    return table


def run_jobs(cell: Cell, methods: tuple[str, ...], budgets: Budgets, output: Path) -> list[pd.DataFrame]:
    """:func:`run_job` for several methods of one cell, in order (one job of the sweep)."""
    return [run_job(cell, method, budgets, output) for method in methods]


def jobs(selected: list[Cell], methods: list[str], budgets: Budgets) -> list[tuple[Cell, tuple[str, ...]]]:
    """The sweep's jobs, longest first: per cell, one job for the learned methods (they share one training) and
    one per other method; the exact solver only up to ``exact_max_n``."""
    listed: list[tuple[Cell, tuple[str, ...]]] = []
    for cell in selected:
        for training in TRAININGS:
            learned = tuple(method for method in methods if LEARNED.get(method, ("",))[0] == training)
            if learned:
                listed.append((cell, learned))
        listed += [
            (cell, (method,))
            for method in methods
            if method not in LEARNED and (method != "exact" or cell.n_uavs <= budgets.exact_max_n)
        ]
    learned_first = {method: 0 for method, (training, _) in LEARNED.items() if training in TRAININGS}
    order = {**learned_first, "GA": 1, "exact": 2}
    return sorted(listed, key=lambda job: (order.get(job[1][0], len(order)), _largest_first(job[0])))


def transfer_jobs(selected: list[Cell], methods: list[str]) -> list[tuple[Cell, tuple[str, ...]]]:
    """The transfer and mixed methods' jobs, one per cell: run after :func:`jobs` (and :func:`mixed_trainings`),
    whose trainings they load."""
    transfer = tuple(method for method in methods if LEARNED.get(method, ("",))[0] in LOADED_TRAININGS)
    return [(cell, transfer) for cell in sorted(selected, key=_largest_first)] if transfer else []


def mixed_trainings(selected: list[Cell], methods: list[str]) -> list[tuple[Cell, str]]:
    """One cell per (M, μ) and training across sizes that the selected mixed methods need (none without them)."""
    asked = [training for training in MIXED_TRAININGS if any(LEARNED.get(method, ("",))[0] == training for method in methods)]
    per_scenario = list({(cell.n_satellites, cell.mu): cell for cell in selected}.values())
    return [(cell, training) for training in asked for cell in per_scenario]


def _largest_first(cell: Cell) -> tuple[int, int]:
    return -cell.n_uavs, -cell.n_satellites


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Budgets()
    described = dict(re.findall(r":param (\w+): (.+)", Budgets.__doc__ or ""))
    parser.add_argument("--n-uavs", type=int, nargs="+", default=list(N_UAVS), help="N values")
    parser.add_argument("--n-satellites", type=int, nargs="+", default=list(N_SATELLITES), help="M values")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, help="methods to score")
    for field in dataclasses.fields(Budgets):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        help_text = f"{described[field.name]} (default {default})"
        if isinstance(default, tuple):
            parser.add_argument(flag, type=int, nargs="+", default=default, help=help_text)
        else:
            parser.add_argument(flag, type=type(default), default=default, help=help_text)
    parser.add_argument("--n-jobs", type=int, default=1, help="jobs run at once (one process each)")
    parser.add_argument("--output", type=Path, default=Path("results/scale"), help="result folder")
    parser.add_argument("--quick", action="store_true", help=f"smoke-run defaults (a flag given still wins): {QUICK}")
    parser.add_argument("--report", action="store_true", help="only write the tables and plots from the rows so far")
    parser.add_argument("--train-only", action="store_true", help="only train (or resume) each cell's CC-DDPG")
    add_ray_argument(parser)
    if parser.parse_known_args(argv)[0].quick:
        parser.set_defaults(**QUICK)
    args = parser.parse_args(argv)
    args.output = args.output.resolve()  # the same path for every worker (Ray tasks do not share a working folder)
    values: dict[str, Any] = {field.name: getattr(args, field.name) for field in dataclasses.fields(Budgets)}
    values["mixed_n"] = tuple(values["mixed_n"])  # argparse gives a list
    budgets = Budgets(**values)
    selected = cells(args.n_uavs, args.n_satellites)
    if args.train_only:
        with job_executor(args.n_jobs, args.ray_address) as pool:
            trainings = [
                pool.submit(_trained, cell, budgets, args.output, training)
                for cell in sorted(selected, key=_largest_first)
                for training in TRAININGS
            ]
            for training in tqdm(trainings, desc="training runs"):
                training.result()
        return
    if not args.report:

        def scored(todo: list[tuple[Cell, tuple[str, ...]]], pool: Any) -> list[Any]:
            return [pool.submit(run_jobs, cell, methods, budgets, args.output) for cell, methods in todo]

        with job_executor(args.n_jobs, args.ray_address) as pool:
            futures = scored(jobs(selected, args.methods, budgets), pool)
            mixed = mixed_trainings(selected, args.methods)
            futures += [pool.submit(trained_mixed, cell, budgets, args.output, training) for cell, training in mixed]
            for future in tqdm(futures, desc="scale jobs"):
                future.result()
        with job_executor(args.n_jobs, args.ray_address) as pool:
            for future in tqdm(scored(transfer_jobs(selected, args.methods), pool), desc="transfer and mixed jobs"):
                future.result()
    table = report(args.output, budgets)
    print(overview_markdown(table, budgets))
    print(f"results in {args.output}")

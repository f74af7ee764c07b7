"""Twin-error benchmark: how every decision degrades when the digital twin's data sizes are wrong.

A *cell* is a twin error σ (``twin_error``: the twin sees ``clip(D·(1 + σ·ε))``, spec §8) and a μ, at
N = 11, M = 3 unless the scenario flags say otherwise. Every method decides on the twin's view of the same
held-out states and is scored on the true ones (:func:`~sb3_ccddpg.evaluation.evaluate`):

- ``clairvoyant oracle``: the exact optimum of the true state, the limit no decision on the twin can beat;
- ``clairvoyant bound``: the certified lower bound of the true state (:func:`~sb3_ccddpg.solvers.bounds.lower_bound`),
  the reference at sizes beyond the oracle's reach (ratios to it are upper bounds on the ratios to the optimum);
- ``oracle (plug-in)``: the exact optimum of the twin's view, trusted as if it were the truth;
- ``equal split``: needs no data;
- ``twin-descent`` and ``twin-robust`` from the equal split (the search alone; ``twin-robust`` scores its
  candidates over true states sampled from the posterior given the view, :mod:`~sb3_ccddpg.solvers.robust`);
- ``ccddpg actor``, ``ccddpg twin-descent``, ``ccddpg twin-robust``: CC-DDPG trained on an env *with* that σ
  (``--seeds`` seeds, ``--train-steps`` steps each), deciding with its actor alone or refined.

Rows of each (cell, method[, seed]) are written to ``--output``/rows/<cell>/<method>.csv when it finishes
and the trained agents live in ``--output``/runs, so rerunning the same command continues where it stopped
and ``--report`` writes ``twin.csv`` (one row per cell and method), ``twin.md`` and ``twin.png`` (ratio to
the clairvoyant optimum against σ) from the rows so far. ``--output`` records the scenario
(``scenario.json``) and refuses rows of another.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch as th
from tqdm.auto import tqdm

from sb3_ccddpg.agents import agent_method
from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.evaluation import AllocationMethod, evaluate, held_out_states
from sb3_ccddpg.solvers.baselines import EqualSplit
from sb3_ccddpg.solvers.bounds import lower_bound
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.search import SearchFromEqualSplit
from sb3_ccddpg.studies.compare import decided_copy
from sb3_ccddpg.studies.executors import add_ray_argument, job_executor
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.scenario import (
    add_scenario_arguments,
    pin_scenario,
    scenario_caption,
    scenario_config,
    scenario_fields,
)
from sb3_ccddpg.studies.training import TrainSettings, resume, train
from sb3_ccddpg_envs import SatGroundConfig

HELD_OUT_SEED = 1_000_000
SIGMAS = (0.0, 0.05, 0.1, 0.2, 0.3)
MUS = (0.1, 0.5, 0.9)
REFERENCE = "clairvoyant oracle"
#: The reference beyond the oracle's reach: the certified lower bound of each true state (a ratio to it is an
#: upper bound on the ratio to the clairvoyant optimum).
BOUND = "clairvoyant bound"
UNTRAINED = (REFERENCE, BOUND, "oracle (plug-in)", "equal split", "twin-descent", "twin-robust")
#: The trained methods: a CC-DDPG trained with the cell's σ, by decision mode.
LEARNED = {"ccddpg actor": "actor", "ccddpg twin-descent": "twin-descent", "ccddpg twin-robust": "twin-robust"}
METHODS = (*UNTRAINED, *LEARNED)


@dataclass(frozen=True)
class Budgets:
    """What the benchmark spends, stated in its tables.

    :param n_uavs: N
    :param n_states: held-out states per cell
    :param seeds: training seeds per cell
    :param train_steps: CC-DDPG training steps per (cell, seed)
    :param env_kwargs: the scenario's other ``SatGroundConfig`` fields (not ``twin_error``, which is swept)
    """

    n_uavs: int = 11
    n_states: int = 1000
    seeds: int = 3
    train_steps: int = 10_000
    env_kwargs: dict[str, Any] | None = None

    def config(self, sigma: float, mu: float) -> SatGroundConfig:
        """The configuration of a cell."""
        return scenario_config(self.n_uavs, {**(self.env_kwargs or {}), "twin_error": sigma}, mu=mu)


def cell_name(n_uavs: int, sigma: float, mu: float) -> str:
    """Folder name of a cell."""
    return f"n{n_uavs}_sigma{sigma:g}_mu{mu:g}"


def _untrained(method: str, config: SatGroundConfig) -> AllocationMethod:
    if method in (REFERENCE, "oracle (plug-in)"):
        return Oracle(config, name=method)
    if method == "equal split":
        return EqualSplit(config)
    return SearchFromEqualSplit(config, method)


def _rows(frame: pd.DataFrame, method: str, config: SatGroundConfig, seed: int | None, train_s: float) -> pd.DataFrame:
    rows = frame[["objective", "C6_ok", "C7_ok", "decision_time_s"]].copy()
    keys = {"n_uavs": config.n_uavs, "sigma": config.twin_error, "mu": config.mu}
    return rows.assign(state=np.arange(len(rows)), method=method, **keys, seed=seed, train_s=train_s)


def run_untrained(method: str, sigma: float, mu: float, budgets: Budgets, output: Path) -> pd.DataFrame:
    """Score one untrained method on one cell and write its per-state rows (or read them if written).

    :return: per-state rows ``objective``, ``C6_ok``, ``C7_ok``, ``decision_time_s`` with the cell's keys
    """
    rows_file = output / "rows" / cell_name(budgets.n_uavs, sigma, mu) / f"{method}.csv"
    if rows_file.exists():
        return pd.read_csv(rows_file)
    config = budgets.config(sigma, mu)
    if method == BOUND:
        states = held_out_states(config, budgets.n_states, HELD_OUT_SEED)  # the true states
        values, seconds = [], []
        for data in states:
            start = time.perf_counter()
            values.append(lower_bound(config, data, mu))
            seconds.append(time.perf_counter() - start)
        bound = pd.DataFrame({"objective": values, "C6_ok": True, "C7_ok": True, "decision_time_s": seconds})
        frame = _rows(bound, method, config, None, 0.0)
        write_atomically(rows_file, frame.to_csv(index=False))
        return frame
    # The clairvoyant oracle is scored without the twin error: it decides on the same true states themselves.
    seen = config.replace(twin_error=0.0, twin_bias=0.0) if method == REFERENCE else config
    frame = _rows(evaluate(_untrained(method, seen), seen, budgets.n_states, HELD_OUT_SEED), method, config, None, 0.0)
    write_atomically(rows_file, frame.to_csv(index=False))
    return frame


def run_learned(sigma: float, mu: float, seed: int, budgets: Budgets, output: Path) -> list[pd.DataFrame]:
    """Train (or resume) CC-DDPG on the cell's env with its σ and score each :data:`LEARNED` decision mode.

    :return: per-state rows of each mode
    """
    th.set_num_threads(1)  # one core per job
    cell = cell_name(budgets.n_uavs, sigma, mu)
    files = {method: output / "rows" / cell / f"{method}_seed{seed}.csv" for method in LEARNED}
    if all(path.exists() for path in files.values()):
        return [pd.read_csv(path) for path in files.values()]
    config = budgets.config(sigma, mu)
    run_dir = output / "runs" / f"{cell}_seed{seed}"
    timing = run_dir / "train_seconds.json"
    spent = json.loads(timing.read_text())["seconds"] if timing.exists() else 0.0
    model = CCDDPG.load(run_dir / "model.zip") if (run_dir / "model.zip").exists() else None
    if model is None or model.num_timesteps < budgets.train_steps:
        start = time.perf_counter()
        if (run_dir / "settings.json").exists():
            trained = resume(run_dir, steps=budgets.train_steps, progress=False)
        else:
            settings = TrainSettings(
                algorithm="ccddpg",
                n_uavs=budgets.n_uavs,
                mu=mu,
                steps=budgets.train_steps,
                seed=seed,
                checkpoint_every=min(5000, budgets.train_steps),
                tensorboard=False,
                env_kwargs={**(budgets.env_kwargs or {}), "twin_error": sigma},
                eval_states=0,  # the benchmark scores every method itself
            )
            trained = train(settings, run_dir, progress=False)
        if not isinstance(trained, CCDDPG):
            raise TypeError(f"{run_dir} holds a {type(trained).__name__}, not a CC-DDPG run")
        model = trained
        spent += time.perf_counter() - start
        write_atomically(timing, json.dumps({"seconds": spent}))
    frames = []
    for method, decision in LEARNED.items():
        if files[method].exists():
            frames.append(pd.read_csv(files[method]))
            continue
        method_of_model = agent_method(decided_copy(model, decision, config), "ccddpg", config, method)
        frame = _rows(evaluate(method_of_model, config, budgets.n_states, HELD_OUT_SEED), method, config, seed, spent)
        write_atomically(files[method], frame.to_csv(index=False))
        frames.append(frame)
    return frames


def written_rows(output: Path) -> pd.DataFrame:
    """Every per-state row written so far under ``output``/rows."""
    frames = [pd.read_csv(path) for path in sorted((output / "rows").glob("*/*.csv"))]
    if not frames:
        raise FileNotFoundError(f"no rows under {output / 'rows'}; run `sb3-ccddpg bench twin --output {output}` first")
    return pd.concat(frames, ignore_index=True)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (N, σ, μ, method): mean objective, its ratio to the clairvoyant optimum (mean and min–max over
    seeds for trained methods), violation rates, ms per decision, training s.

    :param rows: per-state rows of :func:`run_untrained` and :func:`run_learned`
    :return: columns ``n_uavs``, ``sigma``, ``mu``, ``method``, ``seeds``, ``objective``, ``ratio``, ``ratio_low``,
        ``ratio_high``, ``C6_violation_rate``, ``C7_violation_rate``, ``decision_ms``, ``train_s``
    """
    rows = rows.assign(seed=rows["seed"].fillna(-1))
    per_seed = (
        rows.groupby(["n_uavs", "sigma", "mu", "method", "seed"])
        .agg(
            objective=("objective", "mean"),
            C6_ok=("C6_ok", "mean"),
            C7_ok=("C7_ok", "mean"),
            decision_ms=("decision_time_s", "mean"),
            train_s=("train_s", "first"),
        )
        .reset_index()
    )
    cell = ["n_uavs", "sigma", "mu"]
    exact = per_seed[per_seed["method"] == REFERENCE].set_index(cell)["objective"]
    bound = per_seed[per_seed["method"] == BOUND].set_index(cell)["objective"]
    reference = exact.combine_first(bound)  # the optimum where the oracle ran, else the certified bound
    index = pd.MultiIndex.from_frame(per_seed[cell])
    per_seed["ratio"] = per_seed["objective"].to_numpy() / reference.reindex(index).to_numpy()
    table = (
        per_seed.groupby([*cell, "method"])
        .agg(
            seeds=("seed", "size"),
            objective=("objective", "mean"),
            ratio=("ratio", "mean"),
            ratio_low=("ratio", "min"),
            ratio_high=("ratio", "max"),
            C6_ok=("C6_ok", "mean"),
            C7_ok=("C7_ok", "mean"),
            decision_ms=("decision_ms", "mean"),
            train_s=("train_s", "mean"),
        )
        .reset_index()
    )
    table["decision_ms"] *= 1e3
    table["C6_violation_rate"] = 1.0 - table.pop("C6_ok")
    table["C7_violation_rate"] = 1.0 - table.pop("C7_ok")
    return table


def _ratio_cell(row: pd.Series) -> str:
    if row["seeds"] > 1:
        return f"{row['ratio']:.3f} ({row['ratio_low']:.3f}–{row['ratio_high']:.3f})"
    return f"{row['ratio']:.3f}"


def overview_markdown(table: pd.DataFrame, budgets: Budgets) -> str:
    """Per μ, the ratio to the clairvoyant optimum (a row per σ, a column per method); at μ = 0.5 also the
    violation rates and ms per decision."""
    methods = [method for method in METHODS if method in set(table["method"])]
    caption = scenario_caption(budgets.config(0.0, 0.5)).replace(", μ = 0.5", "").replace(f"N = {budgets.n_uavs}, ", "")
    trained = (
        f" CC-DDPG: trained with the cell's σ, {budgets.train_steps} steps, {budgets.seeds} seeds"
        " (mean and min–max over seeds)."
        if set(LEARNED) & set(methods)
        else ""
    )
    parts = [
        f"{caption}; {budgets.n_states} held-out states (seed {HELD_OUT_SEED}), every method deciding on the twin's "
        f"view and scored on the true state.{trained}\n"
    ]
    for (n_uavs, mu), at_mu in table.groupby(["n_uavs", "mu"]):
        reference = "clairvoyant optimum" if REFERENCE in set(at_mu["method"]) else "certified bound of the true state"
        lines = [
            f"\n**N = {n_uavs}, μ = {mu:g}: mean objective / {reference}**\n",
            "| σ | " + " | ".join(methods) + " |",
            "|---|" + "---|" * len(methods),
        ]
        for sigma, rows in at_mu.groupby("sigma"):
            by_method = rows.set_index("method")
            cells = [_ratio_cell(by_method.loc[m]) if m in by_method.index else "" for m in methods]
            lines.append(f"| {sigma:g} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines) + "\n")
    for n_uavs, at_half in table[table["mu"] == 0.5].groupby("n_uavs"):
        lines = [
            f"\n**N = {n_uavs}, μ = 0.5: C6 / C7 violation rates and ms per decision**\n",
            "| σ | method | C6 violated | C7 violated | ms per decision | training (s) |",
            "|---|---|---|---|---|---|",
        ]
        for _, row in at_half.sort_values(["sigma", "method"], key=_method_order).iterrows():
            training = f"{row['train_s']:.0f}" if row["train_s"] > 0 else ""
            lines.append(
                f"| {row['sigma']:g} | {row['method']} | {row['C6_violation_rate']:.1%} | {row['C7_violation_rate']:.1%} "
                f"| {row['decision_ms']:.3g} | {training} |"
            )
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _method_order(column: pd.Series) -> pd.Series:
    return column.map(METHODS.index) if column.name == "method" else column


def report(output: Path, budgets: Budgets) -> pd.DataFrame:
    """Write ``twin.csv``, ``twin.md`` and ``twin.png`` from the rows written so far.

    :return: the summary table
    """
    from sb3_ccddpg.studies.plots import save_figure, twin_curves  # matplotlib only where plots are drawn

    table = summary(written_rows(output))
    write_atomically(output / "twin.csv", table.to_csv(index=False))
    write_atomically(output / "twin.md", overview_markdown(table, budgets))
    save_figure(twin_curves(table), output / "twin.png")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench twin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Budgets()
    parser.add_argument("--sigmas", type=float, nargs="+", default=list(SIGMAS), help="twin errors σ")
    parser.add_argument("--mus", type=float, nargs="+", default=list(MUS), help="μ values")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[method for method in METHODS if method != BOUND],
        choices=METHODS,
        help=f"methods to score (default: all but {BOUND!r}, the reference where the oracle is out of reach)",
    )
    parser.add_argument("--n-uavs", type=int, default=defaults.n_uavs, help="N")
    parser.add_argument("--n-states", type=int, default=defaults.n_states, help="held-out states per cell")
    parser.add_argument("--seeds", type=int, default=defaults.seeds, help="CC-DDPG training seeds per cell")
    parser.add_argument("--train-steps", type=int, default=defaults.train_steps, help="CC-DDPG training steps")
    parser.add_argument("--n-jobs", type=int, default=1, help="jobs run at once (one process each)")
    parser.add_argument("--output", type=Path, default=Path("results/twin"), help="result folder")
    parser.add_argument("--quick", action="store_true", help="σ 0 and 0.2, μ 0.5, 30 states, 1 seed, 300 steps")
    parser.add_argument("--report", action="store_true", help="only write the tables and plot from the rows so far")
    add_scenario_arguments(parser)
    add_ray_argument(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.sigmas, args.mus, args.n_states, args.seeds, args.train_steps = [0.0, 0.2], [0.5], 30, 1, 300
    try:
        env_kwargs = scenario_fields(args)
        if "twin_error" in env_kwargs:
            raise ValueError("twin_error is swept by --sigmas, not set in --env-kwargs")
        for sigma in args.sigmas:
            for mu in args.mus:
                Budgets(n_uavs=args.n_uavs, env_kwargs=env_kwargs).config(sigma, mu)  # the config's own checks
        for name in ("n_states", "seeds", "train_steps"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be ≥ 1, got {getattr(args, name)}")
        args.output = args.output.resolve()  # the same path for every worker
        pin_scenario(args.output, env_kwargs)
    except ValueError as error:
        parser.error(str(error))
    budgets = Budgets(args.n_uavs, args.n_states, args.seeds, args.train_steps, env_kwargs)
    if not args.report:
        untrained = [m for m in args.methods if m in UNTRAINED]
        learned = any(m in LEARNED for m in args.methods)
        with job_executor(args.n_jobs, args.ray_address) as pool:
            futures = []
            if learned:  # the longest jobs first
                futures += [
                    pool.submit(run_learned, sigma, mu, seed, budgets, args.output)
                    for seed in range(args.seeds)
                    for sigma in args.sigmas
                    for mu in args.mus
                ]
            futures += [
                pool.submit(run_untrained, method, sigma, mu, budgets, args.output)
                for method in untrained
                for sigma in args.sigmas
                for mu in args.mus
            ]
            for future in tqdm(futures, desc="twin jobs"):
                future.result()
    table = report(args.output, budgets)
    print(overview_markdown(table, budgets))
    print(f"results in {args.output}")

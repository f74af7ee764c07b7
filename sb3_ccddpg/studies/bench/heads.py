"""Heads benchmark: what the constraint heads buy each off-policy algorithm, against its ``MlpPolicy``.

For each algorithm (DDPG, TD3, SAC, and sb3-contrib's TQC and CrossQ) two agents are trained with the same
bandit settings and steps (:func:`~sb3_ccddpg.agents.make_agent`): the library's ``MlpPolicy``, whose actions
the env's decoder repairs, and the same algorithm with the constraint heads (``ccddpg-paper``, ``cctd3``,
``ccsac``, ``cctqc``, ``cccrossq``). Both are scored by the common harness on the same held-out states: the
``MlpPolicy`` as it acts, the heads' agent with its actor alone and with the default decision
(:data:`~sb3_ccddpg.solvers.search.DEFAULT_DECISION`). Every ratio is to the exact oracle on the same states;
training speed is steps per second of ``learn``, measured per run. Both CrossQ agents use the
critic width of the other algorithms (:data:`CROSSQ_NET_ARCH`): CrossQ's own 1024-wide critic costs 7× the
time per step on one core, which a 2-core budget of 60 jobs cannot pay; ``--crossq-default-width`` keeps it.

One (agent, N, seed) is one job; its rows are written to ``--output``/rows/<agent>_n<N>_seed<k>.csv when it
finishes (a job is one training run of a few minutes, so a stopped run restarts that job), so rerunning the
same command continues where it stopped and ``--report`` writes ``heads.csv`` and ``heads.md`` from the rows
so far. ``--output`` records the budgets (``settings.json``) and refuses rows of other ones.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch as th
from tqdm.auto import tqdm

from sb3_ccddpg.agents import agent_method, make_agent
from sb3_ccddpg.evaluation import evaluate
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg.studies.compare import decided_copy
from sb3_ccddpg.studies.executors import add_ray_argument, job_executor
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.scenario import pin_record
from sb3_ccddpg_envs import SatGroundConfig

HELD_OUT_SEED = 1_000_000
#: Each algorithm: its ``MlpPolicy`` agent and its agent with the heads.
PAIRS = {
    "DDPG": ("ddpg", "ccddpg-paper"),
    "TD3": ("td3", "cctd3"),
    "SAC": ("sac", "ccsac"),
    "TQC": ("tqc", "cctqc"),
    "CrossQ": ("crossq", "cccrossq"),
}
#: Network widths of both CrossQ agents unless ``--crossq-default-width``: SB3's 256 × 256 of the others.
CROSSQ_NET_ARCH = {"pi": [256, 256], "qf": [256, 256]}
#: The rows of a heads agent: its decision modes; an ``MlpPolicy`` agent has one row, ``"as it acts"``.
HEAD_DECISIONS = ("actor", DEFAULT_DECISION)


def run_name(agent: str, n_uavs: int, seed: int) -> str:
    """File name (without ``.csv``) of one job's rows."""
    return f"{agent}_n{n_uavs}_seed{seed}"


def run_job(
    agent: str, n_uavs: int, seed: int, steps: int, n_states: int, mu: float, output: Path, crossq_default_width: bool = False
) -> pd.DataFrame:
    """Train one agent, score it, write its rows (or read them if written).

    :param agent: an agent name of :data:`PAIRS`
    :param n_uavs: N
    :param seed: training seed
    :param steps: training steps
    :param n_states: held-out states
    :param mu: μ
    :param output: the result folder
    :param crossq_default_width: keep CrossQ's own network widths instead of :data:`CROSSQ_NET_ARCH`
    :return: one row per decision: ``objective``, ``C6_violation_rate``, ``C7_violation_rate``,
        ``decision_ms``, ``steps_per_second``, with the job's keys
    """
    rows_file = output / "rows" / f"{run_name(agent, n_uavs, seed)}.csv"
    if rows_file.exists():
        return pd.read_csv(rows_file)
    th.set_num_threads(1)  # one core per job
    config = SatGroundConfig(n_uavs=n_uavs, mu=mu)
    narrow_crossq = agent in PAIRS["CrossQ"] and not crossq_default_width
    width: dict[str, Any] = {"policy_kwargs": {"net_arch": CROSSQ_NET_ARCH}} if narrow_crossq else {}
    model = make_agent(agent, config, seed, **width)
    start = time.perf_counter()
    model.learn(steps)
    speed = steps / (time.perf_counter() - start)
    heads = agent in {pair[1] for pair in PAIRS.values()}
    decided = (
        {decision: decided_copy(model, decision, config) for decision in HEAD_DECISIONS} if heads else {"as it acts": model}
    )
    rows = []
    for decision, acting in decided.items():
        frame = evaluate(agent_method(acting, agent, config), config, n_states, HELD_OUT_SEED)
        rows.append(
            {
                "agent": agent,
                "n_uavs": n_uavs,
                "seed": seed,
                "decision": decision,
                "objective": frame["objective"].mean(),
                "C6_violation_rate": 1.0 - frame["C6_ok"].mean(),
                "C7_violation_rate": 1.0 - frame["C7_ok"].mean(),
                "decision_ms": 1e3 * frame["decision_time_s"].mean(),
                "steps_per_second": speed,
            }
        )
    table = pd.DataFrame(rows)
    write_atomically(rows_file, table.to_csv(index=False))
    return table


def oracle_reference(n_uavs: int, n_states: int, mu: float) -> tuple[float, float]:
    """The oracle's mean objective and mean decision time (ms) on the benchmark's held-out states.

    :param n_uavs: N
    :param n_states: held-out states
    :param mu: μ
    :return: ``(objective, ms per decision)``
    """
    config = SatGroundConfig(n_uavs=n_uavs, mu=mu)
    frame = evaluate(Oracle(config), config, n_states, HELD_OUT_SEED)
    return float(frame["objective"].mean()), 1e3 * float(frame["decision_time_s"].mean())


def _cell(rows: pd.DataFrame) -> str:
    ratio = rows["ratio"]
    return f"{ratio.mean():.3f} ({ratio.min():.3f}–{ratio.max():.3f})" if len(rows) > 1 else f"{ratio.mean():.3f}"


def overview_markdown(
    rows: pd.DataFrame,
    oracle: dict[int, tuple[float, float]],
    steps: int,
    n_states: int,
    mu: float,
    crossq_default_width: bool = False,
) -> str:
    """Per N, a row per algorithm: ratio to the oracle of the ``MlpPolicy`` and of the heads (actor alone,
    default decision), mean and min–max over seeds, and training steps/s.

    :param rows: the jobs' rows with their ``ratio`` to the oracle
    :param oracle: per N, the oracle's mean objective and ms per decision
    :param steps: training steps per agent
    :param n_states: held-out states
    :param mu: μ
    :param crossq_default_width: whether CrossQ kept its own widths (else :data:`CROSSQ_NET_ARCH`)
    :return: markdown text
    """
    parts = [
        f"μ = {mu:g}, M = 3; {steps} training steps per agent, {n_states} held-out states (seed {HELD_OUT_SEED}); "
        "ratio of the mean objective to the exact oracle's, mean (min–max) over seeds. "
        + ("CrossQ with its own widths.\n" if crossq_default_width else "CrossQ with 256 × 256 actor and critics.\n")
    ]
    for n_uavs, at_n in rows.groupby("n_uavs"):
        objective, oracle_ms = oracle[int(n_uavs)]
        parts.append(
            f"\n**N = {n_uavs}** (oracle {objective:.4f}, {oracle_ms:.1f} ms per decision)\n\n"
            f"| algorithm | MlpPolicy + decoder repair | heads: actor alone | heads: {DEFAULT_DECISION} "
            "| seeds | steps/s MlpPolicy | steps/s heads |\n|---|---|---|---|---|---|---|"
        )
        for name, (plain, heads) in PAIRS.items():
            mlp = at_n[at_n["agent"] == plain]
            constrained = at_n[at_n["agent"] == heads]
            if mlp.empty and constrained.empty:
                continue
            cells = [
                _cell(mlp) if len(mlp) else "",
                _cell(constrained[constrained["decision"] == "actor"]) if len(constrained) else "",
                _cell(constrained[constrained["decision"] == DEFAULT_DECISION]) if len(constrained) else "",
                f"{max(mlp['seed'].nunique(), constrained['seed'].nunique())}",
                f"{mlp['steps_per_second'].mean():.0f}" if len(mlp) else "",
                f"{constrained['steps_per_second'].mean():.0f}" if len(constrained) else "",
            ]
            parts.append(f"| {name} | " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts) + "\n"


def pin_settings(output: Path, settings: dict[str, Any]) -> None:
    """Record the budgets of the rows in ``output`` (``settings.json``); refuse to add rows of other budgets.

    :param output: the result folder
    :param settings: ``steps``, ``n_states``, ``mu`` and ``crossq_net_arch``
    :raises ValueError: naming every differing setting
    """
    pin_record(output / "settings.json", settings, "rows of other settings", "use the same ones")


def written_rows(output: Path) -> pd.DataFrame:
    """Every job's rows written so far under ``output``/rows."""
    files = sorted((output / "rows").glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no rows under {output / 'rows'}; run `sb3-ccddpg bench heads --output {output}` first")
    return pd.concat([pd.read_csv(file) for file in files], ignore_index=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench heads", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--algorithms", nargs="+", default=list(PAIRS), choices=list(PAIRS), help="algorithms")
    parser.add_argument("--n-uavs", type=int, nargs="+", default=[6, 11], help="N values")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per agent and N")
    parser.add_argument("--steps", type=int, default=20_000, help="training steps per agent")
    parser.add_argument("--n-states", type=int, default=1000, help="held-out states")
    parser.add_argument("--mu", type=float, default=0.5, help="μ")
    parser.add_argument("--n-jobs", type=int, default=1, help="jobs run at once (one process each)")
    parser.add_argument("--output", type=Path, default=Path("results/heads"), help="result folder")
    parser.add_argument(
        "--crossq-default-width", action="store_true", help="CrossQ with its own 1024-wide critic (7× slower per step)"
    )
    parser.add_argument("--quick", action="store_true", help="N = 4, 1 seed, 300 steps, 20 states (a flag given still wins)")
    parser.add_argument("--report", action="store_true", help="only write the tables from the rows so far")
    add_ray_argument(parser)
    if parser.parse_known_args(argv)[0].quick:
        parser.set_defaults(n_uavs=[4], seeds=1, steps=300, n_states=20)
    args = parser.parse_args(argv)
    for name in ("seeds", "steps", "n_states"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be ≥ 1, got {getattr(args, name)}")
    args.output = args.output.resolve()
    try:
        pin_settings(
            args.output,
            {
                "steps": args.steps,
                "n_states": args.n_states,
                "mu": args.mu,
                "crossq_net_arch": "CrossQ default" if args.crossq_default_width else CROSSQ_NET_ARCH,
            },
        )
    except ValueError as error:
        parser.error(str(error))
    if not args.report:
        agents = [agent for name in args.algorithms for agent in PAIRS[name]]
        jobs = [(agent, n, seed) for n in args.n_uavs for seed in range(args.seeds) for agent in agents]
        with job_executor(args.n_jobs, args.ray_address) as pool:
            futures = [
                pool.submit(
                    run_job, agent, n, seed, args.steps, args.n_states, args.mu, args.output, args.crossq_default_width
                )
                for agent, n, seed in jobs
            ]
            for future in tqdm(futures, desc="heads jobs"):
                future.result()
    rows = written_rows(args.output)
    agents = [agent for name in args.algorithms for agent in PAIRS[name]]
    rows = rows[rows["n_uavs"].isin(args.n_uavs) & rows["agent"].isin(agents) & (rows["seed"] < args.seeds)].copy()
    oracle = {int(n): oracle_reference(int(n), args.n_states, args.mu) for n in sorted(set(rows["n_uavs"]))}
    rows["ratio"] = [row.objective / oracle[int(row.n_uavs)][0] for row in rows.itertuples()]
    write_atomically(args.output / "heads.csv", rows.to_csv(index=False))
    report = overview_markdown(rows, oracle, args.steps, args.n_states, args.mu, args.crossq_default_width)
    write_atomically(args.output / "heads.md", report)
    print(report)
    print(f"results in {args.output}")

"""Quality benchmark: CC-DDPG variants' gap to the exact optimum at checkpoints, over N, μ and seeds.

Each *training variant* (the paper's settings, or a named change of CC-DDPG's options) of each *agent* with the
constraint heads (``--agents``: CC-DDPG by default, or :data:`AGENTS`' others, the heads on TD3, SAC, TQC and
CrossQ) is trained for every (N, μ, seed) and, at each checkpoint, evaluated by the common harness on held-out
states with every *decision mode* (:data:`~sb3_ccddpg.solvers.search.DECISIONS`: the actor alone, or refined by
the twin). The gap is the ratio of the mean objective to the oracle's on the same states. Writes into
``--output``: ``quality.csv`` (one row per agent, variant, decision, N, μ, seed and checkpoint), ``quality.md``
(mean and min–max over seeds; per (N, μ) the oracle's own decision time, measured in the same run) and
``quality.png`` (ratio to the oracle against training steps). Every run keeps its rows and checkpoints under
``--output``/runs, so rerunning the same command after an interruption continues where it stopped, and
evaluates any decision mode added since on the kept checkpoints; ``--report`` writes the tables and plot
from the rows written so far, training nothing. Checkpoint 0 is the untrained agent. The scenario flags
(``--n-satellites``, ``--channels-total``, ``--env-kwargs``, ...) set every run's scenario; ``--output`` records it
in ``scenario.json`` and refuses rows of another scenario.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from sb3_ccddpg.agents import AGENT_CLASSES, make_agent, make_vec_env
from sb3_ccddpg.evaluation import PolicyMethod, evaluate
from sb3_ccddpg.policy_mixins import TwinDecisions
from sb3_ccddpg.solvers.baselines import EqualSplit
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.search import DECISIONS
from sb3_ccddpg.studies.executors import add_ray_argument, job_executor
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.scenario import (
    add_scenario_arguments,
    pin_scenario,
    scenario_caption,
    scenario_config,
    scenario_fields,
)
from sb3_ccddpg.studies.training import save_checkpoint
from sb3_ccddpg_envs import SatGroundConfig

HELD_OUT_SEED = 1_000_000
#: Agents the benchmark trains: those whose policies have every decision mode (``"ccddpg-paper"`` is CC-DDPG
#: deciding by its actor alone, a mode every run evaluates).
AGENTS = ("ccddpg", "cctd3", "ccsac", "cctqc", "cccrossq")
#: Training variants: CC-DDPG constructor arguments changed from the paper's settings.
VARIANTS: dict[str, dict[str, Any]] = {
    "paper": {},
    "more-updates": {"gradient_steps": 4},
    "big-batch": {"batch_size": 512},
    "lr-decay": {"learning_rate": "linear:1e-3"},
    "vec-envs": {"n_envs": 4},
    "search-in-training": {"policy_kwargs": {"decision": "twin-search-exact"}, "refine_exploration": True},
    "softmax-assignment": {"policy_kwargs": {"assignment_temperature": 0.3}},
    "state-scales": {"policy_kwargs": {"state_dependent_scales": True}},
    "set": {"policy": "SetPolicy"},
    "set-expert": {"policy": "SetPolicy", "imitation_weight": 1.0},
    "set-expert-lambda10": {"policy": "SetPolicy", "imitation_weight": 10.0},
    "set-imitation-only": {"policy": "SetPolicy", "imitation_weight": 1.0, "critic_gradient": False},
    "set-imitation-only-rank": {
        "policy": "SetPolicy",
        "imitation_weight": 1.0,
        "critic_gradient": False,
        "policy_kwargs": {"rank_cycles": True},
    },
    "set-imitation-only-rank-swap": {
        "policy": "SetPolicy",
        "imitation_weight": 1.0,
        "critic_gradient": False,
        "policy_kwargs": {"rank_cycles": True},
        "replay_buffer_kwargs": {"teacher": "twin-swap-descent"},
    },
    "set-imitation-only-rank-deal": {
        "policy": "SetPolicy",
        "imitation_weight": 1.0,
        "critic_gradient": False,
        "policy_kwargs": {"rank_cycles": True, "size_deal": True},
    },
}
#: Variants that change an option only CC-DDPG has.
CCDDPG_ONLY_VARIANTS = (
    "search-in-training",
    "softmax-assignment",
    "state-scales",
    "set",
    "set-expert",
    "set-expert-lambda10",
    "set-imitation-only",
    "set-imitation-only-rank",
    "set-imitation-only-rank-swap",
    "set-imitation-only-rank-deal",
)


def check_agent_variant(agent: str, variant: str) -> None:
    """Refuse an agent or a variant the benchmark does not have, or a variant the agent cannot take.

    :raises ValueError: naming the allowed agents or variants
    """
    if agent not in AGENTS:
        raise ValueError(f"agent must be one of {list(AGENTS)}, got {agent!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    if agent != "ccddpg" and variant in CCDDPG_ONLY_VARIANTS:
        raise ValueError(
            f"variant {variant!r} changes an option only CC-DDPG has; with agent {agent!r} use one of "
            f"{[name for name in VARIANTS if name not in CCDDPG_ONLY_VARIANTS]}"
        )


def _constructor_arguments(variant: str) -> dict[str, Any]:
    arguments = dict(VARIANTS[variant])
    if isinstance(arguments.get("learning_rate"), str):  # "linear:<initial>": decays to 0 over the run
        initial = float(arguments["learning_rate"].split(":")[1])
        arguments["learning_rate"] = lambda progress_remaining: initial * progress_remaining
    return arguments


def _untrained(agent: str, variant: str, config: SatGroundConfig, seed: int) -> BaseAlgorithm:
    """The seed's untrained agent of a variant (the same initial weights for every variant)."""
    return make_agent(agent, config, seed, **_constructor_arguments(variant))


def _training_seconds(rows: pd.DataFrame, steps: int) -> float:
    """Training time (s) recorded with a checkpoint's rows."""
    return float(rows.loc[rows["steps"] == steps, "train_s"].iloc[0])


def run_name(variant: str, n_uavs: int, mu: float, seed: int, agent: str = "ccddpg") -> str:
    """Folder name of one training run of the benchmark (CC-DDPG's without the agent's name)."""
    prefix = "" if agent == "ccddpg" else f"{agent}-"
    return f"{prefix}{variant}_n{n_uavs}_mu{mu:g}_seed{seed}"


def _evaluate_decisions(
    model: BaseAlgorithm, config: SatGroundConfig, n_states: int, key: dict[str, Any], decisions: tuple[str, ...] = DECISIONS
) -> list[dict[str, Any]]:
    """One row per decision mode: the model evaluated on the held-out states; its own mode is restored after."""
    policy = model.policy
    if not isinstance(policy, TwinDecisions):
        raise TypeError(f"expected a policy with the decision modes (TwinDecisions), got {type(policy).__name__}")
    own_mode = dict(policy.decision_kwargs)
    rows = []
    try:
        for decision in decisions:
            policy.set_decision(decision, config)
            frame = evaluate(PolicyMethod(model, config, decision), config, n_states, HELD_OUT_SEED)
            rows.append(
                {
                    **key,
                    "decision": decision,
                    "objective": frame["objective"].mean(),
                    "T_total": frame["T_total"].mean(),
                    "E_total": frame["E_total"].mean(),
                    "decision_ms": 1e3 * frame["decision_time_s"].mean(),
                }
            )
    finally:
        policy.set_decision(own_mode["decision"], own_mode["decision_config"])
    return rows


def run_variant(
    variant: str,
    n_uavs: int,
    mu: float,
    seed: int,
    checkpoints: tuple[int, ...],
    n_states: int,
    run_dir: Path,
    env_kwargs: dict[str, Any] | None = None,
    agent: str = "ccddpg",
) -> pd.DataFrame:
    """Train one variant of an agent for one (N, μ, seed) and evaluate it with every decision mode at each checkpoint.

    Checkpoint 0 is the untrained agent (the same seed gives the same initial weights): what the decision
    modes achieve before any learning. The variants change training only, so their checkpoint-0 rows agree;
    each run evaluates its own (a few seconds) to stay self-contained. After each checkpoint the rows so far
    (``rows.csv``) and the model with its replay buffer (``checkpoints/``) are written into ``run_dir``, so a
    run that is stopped continues from its last checkpoint when called again (the random streams restart
    there, so a resumed run is not bit-identical to an uninterrupted one). A decision mode missing from a
    checkpoint's rows (one added to :data:`~sb3_ccddpg.solvers.search.DECISIONS` after the run) is evaluated on
    the model kept for that checkpoint, without training.

    :param run_dir: the run's folder
    :param env_kwargs: the scenario's other ``SatGroundConfig`` fields (M, ξ_total, ...; default: the paper's)
    :param agent: one of :data:`AGENTS`
    :return: one row per (checkpoint, decision): objective, T_total, E_total, decision time, training time
    :raises ValueError: for an agent or variant the benchmark does not have (:func:`check_agent_variant`)
    """
    check_agent_variant(agent, variant)
    th.set_num_threads(1)
    config = scenario_config(n_uavs, env_kwargs or {}, mu=mu)
    rows_file = run_dir / "rows.csv"
    previous = pd.read_csv(rows_file) if rows_file.exists() else pd.DataFrame(columns=["steps", "train_s"])
    if "agent" not in previous:  # rows written before the benchmark took other agents: CC-DDPG's
        previous.insert(0, "agent", agent)
    rows = previous.to_dict("records")  # every checkpoint already written is kept, asked for again or not
    done = set(previous["steps"])
    key = {"agent": agent, "variant": variant, "n_uavs": n_uavs, "mu": mu, "seed": seed}
    for steps in sorted(done):
        evaluated_decisions = set(previous.loc[previous["steps"] == steps, "decision"])
        decisions = tuple(decision for decision in DECISIONS if decision not in evaluated_decisions)
        if decisions:
            evaluated = _evaluate_kept(agent, variant, config, seed, steps, run_dir, n_states, key, decisions)
            rows += [{**row, "steps": steps, "train_s": _training_seconds(previous, steps)} for row in evaluated]
            write_atomically(rows_file, pd.DataFrame(rows).to_csv(index=False))
    if 0 in checkpoints and 0 not in done:
        evaluated = _evaluate_decisions(_untrained(agent, variant, config, seed), config, n_states, key)
        rows += [{**row, "steps": 0, "train_s": 0.0} for row in evaluated]
        write_atomically(rows_file, pd.DataFrame(rows).to_csv(index=False))
    latest = max((steps for steps in done if steps > 0), default=0)
    remaining = sorted(set(checkpoints) - done - {0})
    if remaining and remaining[0] < latest:
        raise ValueError(
            f"checkpoint {remaining[0]} comes before the latest one of {run_dir} ({latest} steps): it can no longer be "
            "evaluated; ask for later checkpoints or use another --output"
        )
    if not remaining:
        return pd.DataFrame(rows)
    model: BaseAlgorithm
    if latest:
        n_envs = VARIANTS[variant].get("n_envs", 1)
        env = make_vec_env(agent, config, n_envs)
        model = AGENT_CLASSES[agent].load(run_dir / "checkpoints" / f"model_{latest}_steps.zip", env=env)
        model.load_replay_buffer(run_dir / "checkpoints" / f"replay_buffer_{latest}_steps.pkl")
        training_seconds = _training_seconds(previous, latest)
    else:
        model = _untrained(agent, variant, config, seed)
        training_seconds = 0.0
    for budget in remaining:
        start = time.perf_counter()
        model.learn(budget - model.num_timesteps, reset_num_timesteps=False)
        training_seconds += time.perf_counter() - start
        evaluated = _evaluate_decisions(model, config, n_states, key)
        rows += [{**row, "steps": budget, "train_s": training_seconds} for row in evaluated]
        save_checkpoint(model, run_dir / "checkpoints")
        write_atomically(rows_file, pd.DataFrame(rows).to_csv(index=False))
    return pd.DataFrame(rows)


def _evaluate_kept(
    agent: str,
    variant: str,
    config: SatGroundConfig,
    seed: int,
    steps: int,
    run_dir: Path,
    n_states: int,
    key: dict[str, Any],
    decisions: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Rows of ``decisions`` at an evaluated checkpoint: its kept model, or the seed's untrained agent for 0."""
    model: BaseAlgorithm
    if steps == 0:
        model = _untrained(agent, variant, config, seed)
    else:
        path = run_dir / "checkpoints" / f"model_{steps}_steps.zip"
        if not path.exists():
            raise FileNotFoundError(f"{path} is gone: decision modes {list(decisions)} cannot be evaluated at {steps} steps")
        model = AGENT_CLASSES[agent].load(path)
    return _evaluate_decisions(model, config, n_states, key, decisions)


def written_rows(output: Path) -> pd.DataFrame:
    """The rows every run under ``output``/runs has written so far (finished checkpoints only).

    :raises FileNotFoundError: when no run has written any
    """
    files = sorted((output / "runs").glob("*/rows.csv"))
    if not files:
        raise FileNotFoundError(f"no run rows under {output / 'runs'}: run `sb3-ccddpg bench quality --output {output}` first")
    rows = pd.concat([pd.read_csv(file) for file in files], ignore_index=True)
    if "agent" not in rows:  # every run written before the benchmark took other agents
        rows.insert(0, "agent", "ccddpg")
    rows["agent"] = rows["agent"].fillna("ccddpg")  # some runs written before, some after
    return rows


def references(n_uavs: int, mu: float, n_states: int, env_kwargs: dict[str, Any] | None = None) -> dict[str, float]:
    """Mean objective of the oracle and the equal split on the benchmark's held-out states, and the oracle's
    mean decision time (ms) measured now, to set beside the decision modes' times."""
    config = scenario_config(n_uavs, env_kwargs or {}, mu=mu)
    oracle = evaluate(Oracle(config), config, n_states, HELD_OUT_SEED)
    return {
        "oracle": float(oracle["objective"].mean()),
        "oracle_decision_ms": 1e3 * float(oracle["decision_time_s"].mean()),
        "equal_split": float(evaluate(EqualSplit(config), config, n_states, HELD_OUT_SEED)["objective"].mean()),
    }


def overview_markdown(results: pd.DataFrame, env_kwargs: dict[str, Any] | None = None) -> str:
    """One table per (N, μ): a row per agent, variant and decision, the ratio to the oracle at each checkpoint.

    A cell is the mean and min–max over seeds, with the number of seeds when fewer than the table's most.

    :param results: the benchmark's rows
    :param env_kwargs: the scenario's other fields, named in each table's heading
    """
    text = io.StringIO()
    for (n_uavs, mu), rows in results.groupby(["n_uavs", "mu"]):
        checkpoints = sorted(rows["steps"].unique())
        most_seeds = rows.groupby(["agent", "variant", "steps"])["seed"].nunique().max()
        caption = scenario_caption(scenario_config(int(n_uavs), env_kwargs or {}, mu=float(mu)))
        text.write(
            f"### {caption}: oracle {rows['oracle_objective'].iloc[0]:.4f} "
            f"({rows['oracle_decision_ms'].iloc[0]:.1f} ms per "
            f"decision), equal split {rows['equal_split_ratio'].iloc[0]:.3f}× the oracle\n\n"
            f"| agent | variant | decision | {' | '.join(f'{steps} steps' for steps in checkpoints)} "
            f"| decision (ms) | training to the last checkpoint (s) |\n"
            f"|---|---|---|{'---|' * len(checkpoints)}---|---|\n"
        )
        for (agent, variant, decision), cell_rows in rows.groupby(["agent", "variant", "decision"]):
            cells = [_seed_cell(cell_rows[cell_rows["steps"] == steps], most_seeds) for steps in checkpoints]
            trained = cell_rows[cell_rows["steps"] > 0]
            last = trained[trained["steps"] == trained["steps"].max()]
            timings = f"{trained['decision_ms'].mean():.2f} | {last['train_s'].mean():.0f}" if len(trained) else " | "
            text.write(f"| {agent} | {variant} | {decision} | {' | '.join(cells)} | {timings} |\n")
        text.write("\n")
    return text.getvalue()


def _seed_cell(rows: pd.DataFrame, most_seeds: int) -> str:
    """Mean (min–max) of the ratio to the oracle over seeds; empty without rows."""
    if rows.empty:
        return ""
    ratio = rows["ratio_to_oracle"]
    seeds = rows["seed"].nunique()
    if seeds == 1:
        return f"{ratio.mean():.3f}" if most_seeds == 1 else f"{ratio.mean():.3f}, 1 seed"
    cell = f"{ratio.mean():.3f} ({ratio.min():.3f}–{ratio.max():.3f})"
    return cell if seeds == most_seeds else f"{cell}, {seeds} seeds"


def summary_markdown(results: pd.DataFrame) -> str:
    """Ratio to the oracle: mean and min–max over seeds, per N, μ, agent, variant, decision and checkpoint."""
    text = io.StringIO()
    group = ["n_uavs", "mu", "agent", "variant", "decision", "steps"]
    table = results.groupby(group).agg(
        ratio=("ratio_to_oracle", "mean"),
        low=("ratio_to_oracle", "min"),
        high=("ratio_to_oracle", "max"),
        seeds=("seed", "nunique"),
        equal=("equal_split_ratio", "first"),
        decision_ms=("decision_ms", "mean"),
        train_s=("train_s", "mean"),
    )
    text.write(
        "| N | μ | agent | variant | decision | steps | ratio to oracle (mean, min–max) | seeds | equal split | "
        "decision (ms) | training (s) |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    for (n_uavs, mu, agent, variant, decision, steps), row in table.iterrows():
        text.write(
            f"| {n_uavs} | {mu:g} | {agent} | {variant} | {decision} | {steps} "
            f"| {row['ratio']:.3f} ({row['low']:.3f}–{row['high']:.3f}) "
            f"| {int(row['seeds'])} | {row['equal']:.3f} | {row['decision_ms']:.2f} | {row['train_s']:.0f} |\n"
        )
    return text.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench quality", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--agents", nargs="+", default=["ccddpg"], choices=list(AGENTS), help="agents with the constraint heads to train"
    )
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), help="training variants")
    parser.add_argument("--n-uavs", type=int, nargs="+", default=[6, 11], help="N values")
    parser.add_argument("--mus", type=float, nargs="+", default=[0.1, 0.5, 0.9], help="μ values")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per point")
    parser.add_argument(
        "--checkpoints", type=int, nargs="+", default=[0, 20_000, 50_000, 100_000], help="step budgets (0: untrained)"
    )
    parser.add_argument("--n-states", type=int, default=1000, help="held-out states per evaluation")
    parser.add_argument("--n-jobs", type=int, default=1, help="training processes at once")
    parser.add_argument("--output", type=Path, default=Path("results/quality"), help="result folder")
    parser.add_argument("--quick", action="store_true", help="N = 6, μ = 0.5, 2 seeds, 0/500/1000 steps, 50 states")
    parser.add_argument(
        "--report", action="store_true", help="only write the tables and plot from the rows of the runs under --output"
    )
    add_scenario_arguments(parser)
    add_ray_argument(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_uavs, args.mus, args.seeds, args.checkpoints, args.n_states = [6], [0.5], 2, [0, 500, 1000], 50
    try:
        for agent in args.agents:
            for variant in args.variants:
                check_agent_variant(agent, variant)
        env_kwargs = scenario_fields(args)
        pin_scenario(args.output, env_kwargs)
    except ValueError as error:
        parser.error(str(error))

    if args.report:
        results = written_rows(args.output)
        selected = (
            results["agent"].isin(args.agents)
            & results["variant"].isin(args.variants)
            & results["n_uavs"].isin(args.n_uavs)
            & results["mu"].isin(args.mus)
        )
        results = results[selected].reset_index(drop=True)
    else:
        jobs = [
            (agent, variant, n, mu, seed)
            for n in args.n_uavs
            for mu in args.mus
            for seed in range(args.seeds)
            for agent in args.agents
            for variant in args.variants
        ]
        checkpoints = tuple(args.checkpoints)
        with job_executor(args.n_jobs, args.ray_address) as pool:
            futures = [
                pool.submit(
                    run_variant,
                    *job[1:],
                    checkpoints,
                    args.n_states,
                    args.output / "runs" / run_name(*job[1:], agent=job[0]),
                    env_kwargs,
                    job[0],
                )
                for job in jobs
            ]
            frames = [future.result() for future in tqdm(futures, desc="training runs")]
        results = pd.concat(frames, ignore_index=True)
    for (n, mu), rows in results.groupby(["n_uavs", "mu"]):
        reference = references(int(n), float(mu), args.n_states, env_kwargs)
        results.loc[rows.index, "ratio_to_oracle"] = rows["objective"] / reference["oracle"]
        results.loc[rows.index, "equal_split_ratio"] = reference["equal_split"] / reference["oracle"]
        results.loc[rows.index, "oracle_objective"] = reference["oracle"]
        results.loc[rows.index, "oracle_decision_ms"] = reference["oracle_decision_ms"]

    from sb3_ccddpg.studies.plots import quality_curves, save_figure  # matplotlib only where plots are drawn

    write_atomically(args.output / "quality.csv", results.to_csv(index=False))
    report = f"{overview_markdown(results, env_kwargs)}### Every row\n\n{summary_markdown(results)}"
    write_atomically(args.output / "quality.md", report)
    save_figure(quality_curves(results), args.output / "quality.png")
    print(overview_markdown(results, env_kwargs))
    print(f"results in {args.output}")

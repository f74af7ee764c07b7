"""The ``sb3-ccddpg`` command line: one subcommand per job, each a thin layer over a library function."""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch as th
import yaml

from sb3_ccddpg.agents import AGENT_CLASSES, AGENT_LABELS, CONSTRAINED, agent_method, make_env
from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy
from sb3_ccddpg.evaluation import AllocationMethod, PolicyMethod, evaluate, summarize
from sb3_ccddpg.onnx_policy import OnnxPolicy, export_onnx
from sb3_ccddpg.solvers.baselines import EqualSplit, GeneticAlgorithm, RandomAlgorithm
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.search import DECISIONS
from sb3_ccddpg.studies.compare import HELD_OUT_SEED_OFFSET, CompareSettings, compare, decided_copy
from sb3_ccddpg.studies.executors import add_ray_argument
from sb3_ccddpg.studies.figures import QUICK, FigureSettings, draw, figures
from sb3_ccddpg.studies.reporting import print_summary, write_atomically
from sb3_ccddpg.studies.scenario import add_scenario_arguments, scenario_config, scenario_fields
from sb3_ccddpg.studies.storage import HEARTBEAT_INTERVAL
from sb3_ccddpg.studies.tradeoff import TradeoffSettings, trade_off
from sb3_ccddpg.studies.training import TrainSettings, resume, saved_model, train
from sb3_ccddpg.studies.tuning import TUNABLE_AGENTS, TuneSettings, agent_to_train, tune
from sb3_ccddpg_envs import SatGroundConfig

#: torch threads per process: one, measured fastest for these networks (``sb3-ccddpg bench threads``).
DEFAULT_THREADS = 1

BASELINES: dict[str, Callable[[SatGroundConfig, argparse.Namespace], AllocationMethod]] = {
    "oracle": lambda config, args: Oracle(config),
    "equal": lambda config, args: EqualSplit(config),
    "ra": lambda config, args: RandomAlgorithm(config, args.seed),
    "ga": lambda config, args: GeneticAlgorithm(config, args.ga_evaluations, seed=args.seed),
}


def read_hyperparameters(path: Path) -> dict[str, Any]:
    """Agent constructor arguments from a YAML mapping (e.g. the best trial of ``sb3-ccddpg tune``).

    :param path: YAML file
    :return: the mapping
    :raises ValueError: when the file is not a YAML mapping with string keys
    """
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"--hyperparams {path} is not valid YAML: {error}") from None
    if content is None:
        return {}
    if not isinstance(content, dict) or not all(isinstance(key, str) for key in content):
        raise ValueError(f"--hyperparams {path} must hold a mapping of constructor arguments, got {type(content).__name__}")
    return content


def _train(args: argparse.Namespace) -> None:
    if args.resume is not None:
        model = resume(args.resume, steps=args.steps)
        run_dir = args.resume
    else:
        steps = 1000 if args.quick else (args.steps or 20_000)
        settings = TrainSettings(
            algorithm=args.algorithm,
            n_uavs=args.n_uavs,
            mu=args.mu,
            observe_mu=args.observe_mu,
            steps=steps,
            seed=args.seed,
            checkpoint_every=min(args.checkpoint_every, steps),
            tensorboard=not args.no_tensorboard,
            hyperparameters=read_hyperparameters(args.hyperparams) if args.hyperparams else {},
            env_kwargs=scenario_fields(args),
            eval_states=args.eval_states,
        )
        run_dir = args.log_dir or Path("runs") / f"{args.algorithm}_n{args.n_uavs}_mu{args.mu:g}_seed{args.seed}"
        model = train(settings, run_dir)
    print(f"trained {model.num_timesteps} steps; model: {run_dir / 'model.zip'}; checkpoints: {run_dir / 'checkpoints'}")
    print(f"TensorBoard: tensorboard --logdir {run_dir / 'tensorboard'}")


def _evaluate(args: argparse.Namespace) -> None:
    if args.model is None and not args.baseline:
        raise ValueError("give --model, --baseline or both")
    if args.decisions and args.model is None:
        raise ValueError("--decisions needs --model (a CC-DDPG run)")
    if "onnx" in args.runtime and args.model is None:
        raise ValueError("--runtime onnx needs --model (a model with the constraint heads)")
    n_states = 50 if args.quick else args.n_states
    methods: list[AllocationMethod] = []
    scenario = scenario_fields(args)
    if args.model is not None and scenario:
        raise ValueError(f"--model brings its own scenario; drop {sorted(scenario)} (or score baselines without --model)")
    if args.model is not None:
        path, algorithm, config = saved_model(args.model)
        mu = args.mu if args.mu is not None else (0.5 if config.observe_mu else config.mu)
        methods += _model_methods(path, algorithm, config, args.decisions, args.runtime)
    else:
        mu = 0.5 if args.mu is None else args.mu
        config = scenario_config(args.n_uavs, scenario, mu=mu)
    methods += [BASELINES[name](config, args) for name in args.baseline or []]
    seed = HELD_OUT_SEED_OFFSET + args.seed
    frames = [evaluate(method, config, n_states, seed, mu=mu, progress=True) for method in methods]
    table = summarize(frames)
    print_summary(table, f"N = {config.n_uavs}, mu = {mu}, {n_states} held-out states (seed {seed})")
    if args.output is not None:
        write_atomically(args.output / "states.csv", pd.concat(frames).to_csv(index=False))
        write_atomically(args.output / "summary.csv", table.to_csv())
        print(f"results in {args.output}")


def _model_methods(
    path: Path, algorithm: str, config: SatGroundConfig, decisions: list[str] | None, runtimes: list[str]
) -> list[AllocationMethod]:
    """The saved model as it decides, or, for CC-DDPG with ``decisions``, one method per decision mode; each run by
    torch, by ONNX Runtime (:class:`~sb3_ccddpg.onnx_policy.OnnxPolicy`) or both (``runtimes``)."""
    model = AGENT_CLASSES[algorithm].load(path, env=make_env(algorithm, config), device="cpu")
    label = f"{AGENT_LABELS[algorithm]} ({path})"
    if (decisions or "onnx" in runtimes) and not isinstance(model, ConstrainedOffPolicy):
        flags = "--decisions" if decisions else "--runtime onnx"
        raise ValueError(f"{flags} needs a model with the constraint heads (one of {list(CONSTRAINED)}), got {algorithm!r}")
    exported = export_onnx(model) if "onnx" in runtimes else b""
    name = AGENT_LABELS[algorithm].split(" (")[0]
    methods: list[AllocationMethod] = []
    modes: list[str | None] = list(decisions) if decisions else [None]  # None: the model's own
    for decision in modes:
        if "torch" in runtimes:
            if decision is None:
                methods.append(agent_method(model, algorithm, config, label))
            else:  # one model per mode: each method keeps its own
                copy = decided_copy(model, decision, config)
                methods.append(agent_method(copy, algorithm, config, f"{name} ({decision}) ({path})"))
        if "onnx" in runtimes:
            onnx_policy = OnnxPolicy(exported, decision)
            methods.append(PolicyMethod(onnx_policy, config, f"{name} ({onnx_policy.decision}, onnx) ({path})"))
    return methods


def _export(args: argparse.Namespace) -> None:
    path, algorithm, config = saved_model(args.model)
    model = AGENT_CLASSES[algorithm].load(path, env=make_env(algorithm, config), device="cpu")
    if not isinstance(model, ConstrainedOffPolicy):
        raise ValueError(f"export needs a model with the constraint heads (one of {list(CONSTRAINED)}), got {algorithm!r}")
    if args.decision is not None:
        model.set_decision(args.decision, config)
    export_onnx(model, args.output)
    decision = model.policy.decision_kwargs["decision"]
    print(f"ONNX model: {args.output} (N = {config.n_uavs}, M = {config.n_satellites}, decision {decision})")
    print(f"decide with it: sb3_ccddpg.OnnxPolicy({str(args.output)!r}).predict(observation)")


def _compare(args: argparse.Namespace) -> None:
    if args.quick:
        args.n_states, args.train_steps, args.ga_budgets = 50, 1000, [500]
    settings = CompareSettings(
        n_uavs=args.n_uavs,
        mu=args.mu,
        n_states=args.n_states,
        seed=args.seed,
        agents=tuple(args.agents),
        train_steps=args.train_steps,
        ga_budgets=tuple(args.ga_budgets),
        env_kwargs=scenario_fields(args),
    )
    table = compare(settings, args.output)
    print_summary(table, f"N = {settings.n_uavs}, mu = {settings.mu}, {settings.n_states} held-out states (gap to oracle)")
    print(f"results in {args.output}")


def _figures(args: argparse.Namespace) -> None:
    if args.redraw:
        written = draw(args.output)
    else:
        base = QUICK if args.quick else FigureSettings()
        overrides = {
            name: getattr(args, name)
            for name in ("steps", "seeds", "n_states", "ga_evaluations", "n_jobs")
            if getattr(args, name) is not None
        }
        settings = FigureSettings(**{**base.__dict__, **overrides, "env_kwargs": scenario_fields(args)})
        written = figures(settings, args.output, args.runs_dir, ray_address=args.ray_address)
    print("written:\n" + "\n".join(f"  {path}" for path in written.values()))


def _tune(args: argparse.Namespace) -> None:
    if args.quick:
        args.steps, args.evaluations, args.n_eval_states = 500, 2, 20
        args.n_trials = args.n_trials or 3
    n_trials = args.n_trials or 20
    if args.tradeoff and args.agent is not None:
        raise ValueError("--tradeoff studies CC-DDPG's trade-off over μ; drop --agent (what a hyperparameter study trains)")
    if args.tradeoff:
        tradeoff_settings = TradeoffSettings(
            n_uavs=args.n_uavs,
            steps=args.steps,
            n_eval_states=args.n_eval_states,
            n_trials=n_trials,
            timeout=args.timeout,
            seed=args.seed,
            env_kwargs=scenario_fields(args),
            **({"mu_grid": 5, "nsga_population": 20, "nsga_generations": 10} if args.quick else {}),
        )
        study = trade_off(tradeoff_settings, args.output, args.storage, args.study_name or "ccddpg-tradeoff", args.heartbeat)
        print(f"{len(study.trials)} trials in study {study.study_name!r}; fronts in {args.output}")
        return
    settings = TuneSettings(
        agent=args.agent or TuneSettings.agent,
        n_uavs=args.n_uavs,
        mu=args.mu,
        steps=args.steps,
        evaluations=args.evaluations,
        n_eval_states=args.n_eval_states,
        n_trials=n_trials,
        timeout=args.timeout,
        n_jobs=args.n_jobs,
        seed=args.seed,
        n_startup_trials=min(5, n_trials) if args.quick else 5,
        env_kwargs=scenario_fields(args),
    )
    default_name = "ccddpg" if settings.agent == "ccddpg-paper" else settings.agent  # one study per agent in a folder
    study = tune(settings, args.output, args.storage, args.study_name or default_name, args.heartbeat)
    print(f"{len(study.trials)} trials of {settings.agent} in study {study.study_name!r}; results in {args.output}")
    if (args.output / "best_hyperparams.yaml").exists():
        best = args.output / "best_hyperparams.yaml"
        print(f"train with them: sb3-ccddpg train --algorithm {agent_to_train(settings.agent)} --hyperparams {best}")


def _bench(args: argparse.Namespace) -> None:
    importlib.import_module(f"sb3_ccddpg.studies.bench.{args.name}").main(args.bench_args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="sb3-ccddpg", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    threads = argparse.ArgumentParser(add_help=False)  # shared by every command that trains or decides
    threads.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"torch threads of this process (default {DEFAULT_THREADS}: fastest for these networks, see `bench threads`)",
    )

    def add_command(name: str, summary: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, parents=[threads], help=summary)
        command.set_defaults(command_parser=command)  # unknown flags are reported with this command's usage
        return command

    train_parser = add_command("train", summary="train an agent on SatGround-v0, with checkpoints and TensorBoard")
    train_parser.add_argument("--algorithm", choices=sorted(AGENT_LABELS), default="ccddpg", help="agent to train")
    train_parser.add_argument("--n-uavs", type=int, default=11, help="N, number of UAVs")
    train_parser.add_argument("--mu", type=float, default=0.5, help="μ, weight of energy in [0, 1]")
    train_parser.add_argument("--observe-mu", action="store_true", help="μ-conditioned policy: μ drawn per episode")
    train_parser.add_argument("--steps", type=int, help="total training steps (default 20000; with --resume: the run's own)")
    train_parser.add_argument("--seed", type=int, default=0, help="seed of the agent and its env")
    train_parser.add_argument("--log-dir", type=Path, help="run folder (default runs/<algorithm>_n<N>_mu<mu>_seed<seed>)")
    train_parser.add_argument("--checkpoint-every", type=int, default=5000, help="steps between checkpoints")
    train_parser.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    train_parser.add_argument(
        "--eval-states",
        type=int,
        default=TrainSettings.eval_states,
        help="held-out states the deployed decision is scored on at every checkpoint (eval/ scalars, best_model.zip); 0: off",
    )
    train_parser.add_argument("--hyperparams", type=Path, help="YAML mapping of agent constructor arguments")
    train_parser.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR from its latest checkpoint")
    train_parser.add_argument("--quick", action="store_true", help="1000 steps, a smoke run")
    add_scenario_arguments(train_parser)
    train_parser.set_defaults(handler=_train)

    evaluate_parser = add_command("evaluate", summary="score a saved model, baselines, or both on the same held-out states")
    evaluate_parser.add_argument(
        "--model",
        type=Path,
        help="a run folder of `train`, a model .zip in it, or any saved model with constraint heads (it knows its scenario)",
    )
    evaluate_parser.add_argument(
        "--decisions",
        nargs="+",
        choices=DECISIONS,
        help="a model with constraint heads: score it with each of these decision modes",
    )
    evaluate_parser.add_argument(
        "--runtime",
        nargs="+",
        choices=["torch", "onnx"],
        default=["torch"],
        help="run the model's actor in torch (SB3's predict; the default), in ONNX Runtime (exported first), or both",
    )
    evaluate_parser.add_argument(
        "--baseline", nargs="+", choices=sorted(BASELINES), help="baselines to score (with --model: on its configuration)"
    )
    evaluate_parser.add_argument("--n-uavs", type=int, default=11, help="N (baselines; a model brings its own)")
    evaluate_parser.add_argument("--mu", type=float, help="μ to score with (default: the model's, or 0.5)")
    evaluate_parser.add_argument("--n-states", type=int, default=1000, help="held-out states")
    evaluate_parser.add_argument("--seed", type=int, default=0, help=f"held-out states use seed {HELD_OUT_SEED_OFFSET} + this")
    evaluate_parser.add_argument("--ga-evaluations", type=int, default=5000, help="GA budget per state")
    evaluate_parser.add_argument("--output", type=Path, help="folder for states.csv and summary.csv")
    evaluate_parser.add_argument("--quick", action="store_true", help="50 states")
    add_scenario_arguments(evaluate_parser)
    evaluate_parser.set_defaults(handler=_evaluate)

    export_parser = add_command(
        "export", summary="write a model's actor and decision mode as an ONNX file, to decide with sb3_ccddpg.OnnxPolicy"
    )
    export_parser.add_argument("--model", type=Path, required=True, help="as for `evaluate`: a run folder or a model .zip")
    export_parser.add_argument("--output", type=Path, required=True, help="the ONNX file to write")
    export_parser.add_argument("--decision", choices=DECISIONS, help="decision mode it keeps (default: the model's)")
    export_parser.set_defaults(handler=_export)

    defaults = CompareSettings()
    compare_parser = add_command("compare", summary="every method on the same held-out states, gap to the oracle")
    compare_parser.add_argument("--n-uavs", type=int, default=defaults.n_uavs, help="N, number of UAVs")
    compare_parser.add_argument("--mu", type=float, default=defaults.mu, help="μ, weight of energy in [0, 1]")
    compare_parser.add_argument("--n-states", type=int, default=defaults.n_states, help="held-out states")
    compare_parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of training and held-out states")
    compare_parser.add_argument(
        "--agents", nargs="*", default=list(defaults.agents), choices=sorted(AGENT_LABELS), help="agents to train"
    )
    compare_parser.add_argument("--train-steps", type=int, default=defaults.train_steps, help="training steps per agent")
    compare_parser.add_argument("--ga-budgets", type=int, nargs="*", default=list(defaults.ga_budgets), help="GA budgets")
    compare_parser.add_argument("--output", type=Path, default=Path("results/compare"), help="result folder")
    compare_parser.add_argument("--quick", action="store_true", help="50 states, 1000 steps, GA 500 evaluations")
    add_scenario_arguments(compare_parser)
    compare_parser.set_defaults(handler=_compare)

    figures_parser = add_command("figures", summary="rerun the paper's Figs 4-6: CSVs, PNGs and a report")
    figures_parser.add_argument("--output", type=Path, default=Path("results/figures"), help="CSVs, PNGs and report.md")
    figures_parser.add_argument("--runs-dir", type=Path, default=Path("runs/figures"), help="training runs (reused)")
    figures_parser.add_argument("--steps", type=int, help="training steps per policy (default 20000)")
    figures_parser.add_argument("--seeds", type=int, help="CC-DDPG seeds of Fig 4 (default 3)")
    figures_parser.add_argument("--n-states", type=int, help="held-out states per point (default 300)")
    figures_parser.add_argument("--ga-evaluations", type=int, help="GA budget per state (default 5000)")
    figures_parser.add_argument("--n-jobs", type=int, help="training processes at once (default 1)")
    figures_parser.add_argument("--quick", action="store_true", help="tiny budgets, N in {6, 11}, μ in {0.1, 0.5}")
    add_scenario_arguments(figures_parser)
    add_ray_argument(figures_parser)
    figures_parser.add_argument(
        "--redraw", action="store_true", help="only redraw the PNGs and report.md from the CSVs and run.json in --output"
    )
    figures_parser.set_defaults(handler=_figures)

    tune_parser = add_command("tune", summary="Optuna study of an agent's hyperparameters, or the delay-energy trade-off")
    tune_parser.add_argument("--tradeoff", action="store_true", help="multi-objective study over μ (T_total, E_total)")
    tune_parser.add_argument(
        "--agent",
        choices=TUNABLE_AGENTS,
        help="agent the trials train (default ccddpg-paper: CC-DDPG's actor; the CC agents are scored by their actor alone)",
    )
    tune_parser.add_argument("--n-uavs", type=int, default=11, help="N, number of UAVs")
    tune_parser.add_argument("--mu", type=float, default=0.5, help="μ of the hyperparameter study")
    tune_parser.add_argument("--steps", type=int, default=20_000, help="training steps per trial")
    tune_parser.add_argument("--evaluations", type=int, default=4, help="intermediate evaluations per trial (pruning)")
    tune_parser.add_argument("--n-eval-states", type=int, default=200, help="validation states per evaluation")
    tune_parser.add_argument("--n-trials", type=int, help="trials this call adds to the study (default 20)")
    tune_parser.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    tune_parser.add_argument("--n-jobs", type=int, default=1, help="parallel trials in this process")
    tune_parser.add_argument("--seed", type=int, default=0, help="seed of the sampler and the agents")
    tune_parser.add_argument(
        "--storage", help="RDB URL (sqlite:///x.db, postgresql://...) or journal file (*.log); default: in --output"
    )
    tune_parser.add_argument("--study-name", help="study name (default ccddpg, the --agent's name, or ccddpg-tradeoff)")
    tune_parser.add_argument("--heartbeat", type=int, default=HEARTBEAT_INTERVAL, help="seconds between trial heartbeats")
    tune_parser.add_argument("--output", type=Path, default=Path("results/tune"), help="result folder")
    tune_parser.add_argument("--quick", action="store_true", help="500 steps, 20 states, 3 trials")
    add_scenario_arguments(tune_parser)
    tune_parser.set_defaults(handler=_tune)

    bench_parser = commands.add_parser(
        "bench",
        help="benchmarks (-h after the name): env, ccddpg, decisions, heads, latency, quality, scale, threads or twin",
    )
    bench_parser.add_argument(
        "name",
        choices=["env", "ccddpg", "decisions", "heads", "latency", "quality", "scale", "threads", "twin"],
        help="which benchmark",
    )
    bench_parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="the benchmark's own arguments")
    bench_parser.set_defaults(handler=_bench)
    return parser


def _refuse_unknown(parser: argparse.ArgumentParser, unknown: list[str]) -> None:
    """Exit with the command's own usage, naming each unknown flag and the closest known one."""
    known = [option for action in parser._actions for option in action.option_strings]
    hints = []
    for flag in (item for item in unknown if item.startswith("-")):
        close = difflib.get_close_matches(flag.split("=")[0], known, n=1)
        hints.append(f"{flag} (did you mean {close[0]}?)" if close else flag)
    parser.error(f"unrecognized arguments: {' '.join(hints or unknown)}")


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``sb3-ccddpg``; bad values exit with the library's message instead of a traceback.

    :param argv: arguments (default: ``sys.argv[1:]``)
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _refuse_unknown(getattr(args, "command_parser", parser), unknown)
    threads = getattr(args, "threads", DEFAULT_THREADS)
    if threads < 1:
        parser.error(f"--threads must be an integer ≥ 1, got {threads}")
    th.set_num_threads(threads)
    try:
        args.handler(args)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.exit(2, f"sb3-ccddpg {args.command}: error: {error}\n")


if __name__ == "__main__":
    main(sys.argv[1:])

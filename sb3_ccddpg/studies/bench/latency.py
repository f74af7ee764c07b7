"""Decision-latency benchmark: a trained model's decision modes, in torch and in ONNX Runtime, beside the solvers.

One saved model with the constraint heads decides on held-out states with each ``--decisions`` mode, run by
each ``--runtime`` (torch: SB3's ``predict``; onnx: the model exported by :func:`~sb3_ccddpg.onnx_policy.export_onnx`
and run by :class:`~sb3_ccddpg.onnx_policy.OnnxPolicy`), beside ``--solvers`` that decide without it (the exact
oracle, the descents from the equal split, the snake deal). The methods take turns *state by state* (the order
rotated at every state), so a change of the machine's load during the run weighs on all of them alike, and the
time ratios are measured in the same run. Each decision is timed as the evaluation harness times it (observation,
``predict``, decoding) and scored by the cost model on the same state (on the true data: a twin with an error is
refused).

With ``--batch`` the actor alone also decides the states in batches (one ``predict`` and one decoding per
batch, as for a vectorised env's slots), each batch right after the same states were decided one at a time, its
time per state being the batch's time over its size: what the network costs where decisions come many at a
time, which the descents and the oracle (one state at a time) do not share.

Printed as a markdown table (and written to ``--output`` as ``latency.csv`` and ``latency.md``): each method's
mean objective as a ratio to the reference's (the oracle where it enumerates, else the certified bound of
:func:`~sb3_ccddpg.lower_bound`), its mean and median decision time, and the mean time as a ratio to
``--time-reference``'s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from sb3_ccddpg.agents import AGENT_CLASSES, CONSTRAINED, make_env
from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy
from sb3_ccddpg.evaluation import AllocationMethod, PolicyMethod, Predictor, held_out_states
from sb3_ccddpg.onnx_policy import OnnxPolicy, export_onnx
from sb3_ccddpg.solvers.baselines import SnakeDeal
from sb3_ccddpg.solvers.bounds import lower_bound
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.search import DECISIONS, SearchFromEqualSplit
from sb3_ccddpg.studies.compare import decided_copy
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.training import saved_model
from sb3_ccddpg_envs import SatGroundConfig, allocation_cost, has_twin_error, observe, project

#: Seed of the held-out states (the quality and scale benchmarks' own).
HELD_OUT_SEED = 1_000_000
RUNTIMES = ("torch", "onnx")
SOLVERS = ("oracle", "twin-descent", "twin-swap-descent", "snake-deal")


def model_methods(
    model: BaseAlgorithm, config: SatGroundConfig, decisions: list[str], runtimes: list[str], exported: bytes
) -> list[AllocationMethod]:
    """The model deciding with each mode in each runtime, named ``"<mode> (<runtime>)"``.

    :param model: a trained model with the constraint heads
    :param config: its env configuration
    :param decisions: decision modes
    :param runtimes: among :data:`RUNTIMES`
    :param exported: the model exported by :func:`~sb3_ccddpg.onnx_policy.export_onnx` (used with ``"onnx"``)
    :return: one method per (mode, runtime)
    """
    methods: list[AllocationMethod] = []
    for decision in decisions:
        if "torch" in runtimes:
            methods.append(PolicyMethod(decided_copy(model, decision, config), config, f"{decision} (torch)"))
        if "onnx" in runtimes:
            methods.append(PolicyMethod(OnnxPolicy(exported, decision), config, f"{decision} (onnx)"))
    return methods


def solver_method(name: str, config: SatGroundConfig) -> AllocationMethod:
    """One of :data:`SOLVERS` (the descents and the snake deal start from no model)."""
    if name == "oracle":
        return Oracle(config)
    if name == "snake-deal":
        return SnakeDeal(config)
    return SearchFromEqualSplit(config, name)


def measure(
    methods: list[AllocationMethod],
    config: SatGroundConfig,
    states: np.ndarray,
    mu: float,
    bound: bool,
    batched: dict[str, Predictor] | None = None,
    batch: int = 0,
) -> pd.DataFrame:
    """Each method's decision on every state, the methods in turn state by state (rotated), timed and scored; with
    ``batched``, after every ``batch`` states each of those predictors decides the same states in one batch.

    :param methods: the methods deciding one state at a time
    :param config: the configuration they decide for
    :param states: data sizes (MB), shape ``(S, N)``
    :param mu: μ
    :param bound: also compute the certified lower bound of each state (column ``bound``)
    :param batched: the actor alone deciding a batch per call (one ``predict``, one decoding), by name
    :param batch: states per batch (with ``batched``)
    :return: one row per state: ``<name>_objective`` and ``<name>_s`` per method (for a batched one, its batch's
        time over the batch's size), and ``bound``
    """
    batched = batched or {}
    chunk_size = batch if batched else len(states)
    for method in methods:  # warm-up, untimed: caches, lazy imports, the first ONNX Runtime call
        method.allocate(states[0], mu)
    for predictor in batched.values():
        predictor.predict(observe(config, states[:chunk_size], mu), deterministic=True)
    rows: list[dict[str, float]] = []
    progress = tqdm(total=len(states), desc="states")
    for first in range(0, len(states), chunk_size):
        chunk = states[first : first + chunk_size]
        for data_mb in chunk:
            row: dict[str, float] = {}
            turn = len(rows) % len(methods) if methods else 0
            for method in methods[turn:] + methods[:turn]:
                start = time.perf_counter()
                allocation = method.allocate(data_mb, mu)
                row[f"{method.name}_s"] = time.perf_counter() - start
                row[f"{method.name}_objective"] = float(allocation_cost(config, data_mb, allocation, mu)["objective"])
            if bound:
                row["bound"] = lower_bound(config, data_mb, mu)
            rows.append(row)
            progress.update()
        for name, predictor in batched.items():
            start = time.perf_counter()
            actions, _ = predictor.predict(observe(config, chunk, mu), deterministic=True)
            allocation = project(actions, config.n_uavs, config.n_satellites, config.channels_total)
            seconds = (time.perf_counter() - start) / len(chunk)
            objectives = allocation_cost(config, chunk, allocation, mu)["objective"]
            for row, objective in zip(rows[first:], objectives, strict=True):
                row[f"{name}_s"], row[f"{name}_objective"] = seconds, float(objective)
    progress.close()
    return pd.DataFrame(rows)


def summary(measured: pd.DataFrame, names: list[str], reference: str, time_reference: str) -> pd.DataFrame:
    """Per method: mean objective / the reference's, mean and median ms, mean time / ``time_reference``'s."""
    reference_objective = measured["bound" if reference == "bound" else f"{reference}_objective"].mean()
    reference_time = measured[f"{time_reference}_s"].mean()
    return pd.DataFrame(
        {
            "objective_ratio": [measured[f"{name}_objective"].mean() / reference_objective for name in names],
            "mean_ms": [1e3 * measured[f"{name}_s"].mean() for name in names],
            "median_ms": [1e3 * measured[f"{name}_s"].median() for name in names],
            "time_ratio": [measured[f"{name}_s"].mean() / reference_time for name in names],
        },
        index=pd.Index(names, name="method"),
    )


def markdown(table: pd.DataFrame, title: str, caption: str, reference: str, time_reference: str) -> str:
    """The summary as a markdown page: its title, the caption, the table."""
    lines = [
        f"# {title}",
        "",
        caption,
        "",
        f"| method | objective / {reference}'s | mean ms | median ms | mean time / {time_reference}'s |",
        "|---|---|---|---|---|",
    ]
    for name, row in table.iterrows():
        ratio, mean_ms, median_ms, time_ratio = row[["objective_ratio", "mean_ms", "median_ms", "time_ratio"]]
        lines.append(f"| {name} | {ratio:.4f} | {mean_ms:.3f} | {median_ms:.3f} | {time_ratio:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench latency", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, required=True, help="a run folder of `train` or a saved model (.zip) with the constraint heads"
    )
    parser.add_argument(
        "--decisions",
        nargs="+",
        choices=DECISIONS,
        default=["actor", "exact-fill", "twin-swap-descent"],
        help="its modes (default: actor exact-fill twin-swap-descent)",
    )
    parser.add_argument(
        "--runtime", nargs="+", choices=RUNTIMES, default=list(RUNTIMES), help="runtimes of the model (default: both)"
    )
    parser.add_argument(
        "--solvers",
        nargs="*",
        choices=SOLVERS,
        default=["oracle"],
        help="methods without the model (default: oracle, where it enumerates)",
    )
    parser.add_argument(
        "--time-reference", help="the method whose mean time the others are divided by (default: the first solver)"
    )
    parser.add_argument("--n-states", type=int, default=1000, help="held-out states (default 1000)")
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="also time the actor alone deciding the states in batches of this size (one predict per batch); 0: off",
    )
    parser.add_argument("--output", type=Path, help="folder for latency.csv (one row per state) and latency.md")
    args = parser.parse_args(argv)
    if args.n_states < 1 or args.batch < 0:
        parser.error(f"--n-states must be ≥ 1 and --batch ≥ 0, got {args.n_states} and {args.batch}")

    path, algorithm, config = saved_model(args.model)
    if has_twin_error(config):
        parser.error("the latency benchmark decides on the true data: give a model of a scenario with an exact twin")
    model = AGENT_CLASSES[algorithm].load(path, env=make_env(algorithm, config), device="cpu")
    if not isinstance(model, ConstrainedOffPolicy):
        parser.error(f"--model needs a model with the constraint heads (one of {list(CONSTRAINED)}), got {algorithm!r}")
    exported = export_onnx(model) if "onnx" in args.runtime else b""  # once, for every ONNX Runtime method
    methods = model_methods(model, config, args.decisions, args.runtime, exported)
    methods += [solver_method(name, config) for name in args.solvers]
    names = [method.name for method in methods]
    time_reference = args.time_reference or (args.solvers[0] if args.solvers else names[0])
    if time_reference not in names:
        parser.error(f"--time-reference must be one of the methods {names}, got {time_reference!r}")
    if "oracle" in args.solvers and not Oracle(config).enumerates:
        parser.error(
            f"the oracle does not enumerate at N = {config.n_uavs}, M = {config.n_satellites} (its branch and bound "
            "would run to its time limit on every state): leave it out, e.g. --solvers twin-descent snake-deal; "
            "the quality reference is then the certified bound"
        )
    reference = "oracle" if "oracle" in args.solvers else "bound"
    mu = 0.5 if config.observe_mu else config.mu
    states = held_out_states(config, args.n_states, HELD_OUT_SEED)
    batched: dict[str, Predictor] = {}
    for runtime in args.runtime if args.batch else []:
        alone = decided_copy(model, "actor", config) if runtime == "torch" else OnnxPolicy(exported, "actor")
        batched[f"actor ({runtime}, batches of {args.batch})"] = alone
    measured = measure(methods, config, states, mu, reference == "bound", batched, args.batch)
    names += list(batched)
    table = summary(measured, names, reference, time_reference)
    caption = (
        f"{path}: N = {config.n_uavs}, M = {config.n_satellites}, μ = {mu:g}, {args.n_states} held-out states "
        f"(seed {HELD_OUT_SEED}), methods in turn state by state"
    )
    title = f"Decision time at N = {config.n_uavs}, M = {config.n_satellites}, μ = {mu:g}"
    text = markdown(table, title, caption, reference, time_reference)
    print(text)
    if args.output is not None:
        write_atomically(args.output / "latency.csv", measured.to_csv(index=False))
        write_atomically(args.output / "latency.md", text)
        print(f"results in {args.output}")

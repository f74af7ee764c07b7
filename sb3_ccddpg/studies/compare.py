"""Run every method on the same held-out states and write the comparison table (CSV and markdown)."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from sb3_ccddpg.agents import AGENT_LABELS, agent_method, make_agent
from sb3_ccddpg.algorithm_mixins import ConstrainedOffPolicy
from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.evaluation import AllocationMethod, evaluate, summarize
from sb3_ccddpg.settings_checks import require_positive_integers
from sb3_ccddpg.solvers.baselines import EqualSplit, GeneticAlgorithm, RandomAlgorithm
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.search import DEFAULT_DECISION
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.scenario import scenario_caption, scenario_config
from sb3_ccddpg_envs import SatGroundConfig

#: Held-out states never overlap training: training seeds are small integers, held-out seeds start here.
HELD_OUT_SEED_OFFSET = 1_000_000

#: How each CC-DDPG agent decides. Their training is the same for a seed (the default refines only its
#: decisions), so a comparison trains CC-DDPG once and evaluates the trained model both ways.
CCDDPG_DECISIONS = {"ccddpg": DEFAULT_DECISION, "ccddpg-paper": "actor"}


@dataclass(frozen=True)
class CompareSettings:
    """What a comparison runs.

    :param n_uavs: N
    :param mu: μ in [0, 1]
    :param n_states: held-out states
    :param seed: seed of training and of the held-out states (``HELD_OUT_SEED_OFFSET + seed``)
    :param agents: learning agents to train, names of :data:`~sb3_ccddpg.agents.AGENT_LABELS`; ``ccddpg`` and
        ``ccddpg-paper`` share one training (:data:`CCDDPG_DECISIONS`)
    :param train_steps: training steps of each agent
    :param ga_budgets: GA evaluation budgets per state, one GA row each
    :param env_kwargs: every other ``SatGroundConfig`` field of the scenario (M, ξ_total, the data range, ...)
    """

    n_uavs: int = 11
    mu: float = 0.5
    n_states: int = 1000
    seed: int = 0
    agents: tuple[str, ...] = ("ccddpg", "ccddpg-paper", "ddpg", "td3", "sac", "ddpg-penalty")
    train_steps: int = 20_000
    ga_budgets: tuple[int, ...] = (1000, 5000, 20_000)
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config()  # validates the scenario with the env's own messages
        unknown = sorted(set(self.agents) - set(AGENT_LABELS))
        if unknown:
            raise ValueError(f"agents must be among {sorted(AGENT_LABELS)}, got {unknown}")
        require_positive_integers(self, "train_steps")
        if self.n_states < 2:
            raise ValueError(f"n_states must be an integer ≥ 2 (for confidence intervals), got {self.n_states!r}")

    def config(self) -> SatGroundConfig:
        """The env configuration of the comparison."""
        return scenario_config(self.n_uavs, self.env_kwargs, mu=self.mu)


def compare(settings: CompareSettings, output: Path, *, progress: bool = True) -> pd.DataFrame:
    """Train the agents, evaluate every method on the same held-out states and write the results.

    Writes, atomically, into ``output``: ``states.csv`` (one row per method and state), ``summary.csv`` and
    ``summary.md`` (mean ± 95 % CI, violation rates, gap to the oracle in %, decision time, training time)
    and ``settings.json`` (the settings and the command line).

    :param settings: what to run
    :param output: result folder
    :param progress: show progress bars
    :return: the summary table, one row per method
    """
    config = settings.config()
    methods: list[AllocationMethod] = [Oracle(config), EqualSplit(config), RandomAlgorithm(config, settings.seed)]
    training_seconds: dict[str, float] = {}
    ccddpg_training: tuple[CCDDPG, float] | None = None  # the CC-DDPG trained first, and its training time (s)
    for algorithm in tqdm(settings.agents, desc="training agents", disable=not progress):
        if algorithm in CCDDPG_DECISIONS and ccddpg_training is not None:
            trained_model, seconds = ccddpg_training
            model: BaseAlgorithm = decided_copy(trained_model, CCDDPG_DECISIONS[algorithm], config)
        else:
            model = make_agent(algorithm, config, settings.seed)
            start = time.perf_counter()
            model.learn(settings.train_steps)
            seconds = time.perf_counter() - start
            if isinstance(model, CCDDPG):
                ccddpg_training = (model, seconds)
        trained = agent_method(model, algorithm, config, f"{AGENT_LABELS[algorithm]}, {settings.train_steps} steps")
        training_seconds[trained.name] = seconds
        methods.append(trained)
    # The GA last, its largest budget at the end: the slowest methods come after everything already trained.
    methods += [GeneticAlgorithm(config, budget, seed=settings.seed) for budget in sorted(settings.ga_budgets)]
    held_out_seed = HELD_OUT_SEED_OFFSET + settings.seed
    frames = []
    for method in methods:
        frames.append(evaluate(method, config, settings.n_states, held_out_seed, progress=progress))
        # Written after every method, so an interrupted run keeps what it has measured.
        write_atomically(output / "states.csv", pd.concat(frames).to_csv(index=False))
    table = summarize(frames, reference="oracle")
    table["train_s"] = pd.Series(training_seconds)

    write_atomically(output / "summary.csv", table.to_csv())
    write_atomically(output / "summary.md", summary_markdown(table, settings))
    record = {"settings": dataclasses.asdict(settings), "command": sys.argv}
    write_atomically(output / "settings.json", json.dumps(record, indent=2))
    return table


def decided_copy(model: BaseAlgorithm, decision: str, config: SatGroundConfig) -> BaseAlgorithm:
    """A copy of a trained constrained agent (CC-DDPG or :mod:`sb3_ccddpg.algorithms`) that decides with
    ``decision``; ``model`` is left as it is.

    :param model: the trained agent
    :param decision: one of :data:`~sb3_ccddpg.solvers.search.DECISIONS`
    :param config: the env configuration the decision scores with
    :return: the copy, without an env
    """
    saved = io.BytesIO()
    model.save(saved)
    saved.seek(0)
    copy = type(model).load(saved)
    if not isinstance(copy, ConstrainedOffPolicy):
        raise TypeError(f"decision modes need an agent with the constraint heads, got a {type(model).__name__}")
    copy.set_decision(decision, config)
    return copy


def summary_markdown(table: pd.DataFrame, settings: CompareSettings) -> str:
    """The summary as a markdown table with its caption.

    :param table: output of :func:`~sb3_ccddpg.evaluation.summarize` (with ``gap_pct`` against the oracle)
    :param settings: the comparison's settings, for the caption
    :return: markdown text
    """
    lines = [
        f"{scenario_caption(settings.config())}, {settings.n_states} held-out states "
        f"(seed {HELD_OUT_SEED_OFFSET + settings.seed}); mean ± 95 % CI.",
        "",
        "| method | objective | gap to oracle | T_total (s) | E_total (kJ) "
        "| C6 viol. | C7 viol. | decision (ms) | train (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, row in table.iterrows():
        train = "" if pd.isna(row.get("train_s")) else f"{row['train_s']:.0f}"
        lines.append(
            f"| {method} | {row['objective']:.4f} ± {row['objective_ci95']:.4f} | {row['gap_pct']:+.1f} % "
            f"| {row['T_total']:.1f} ± {row['T_total_ci95']:.1f} "
            f"| {row['E_total'] / 1e3:.1f} ± {row['E_total_ci95'] / 1e3:.1f} "
            f"| {row['C6_violation_rate']:.1%} | {row['C7_violation_rate']:.1%} | {row['decision_ms']:.3g} | {train} |"
        )
    return "\n".join(lines) + "\n"

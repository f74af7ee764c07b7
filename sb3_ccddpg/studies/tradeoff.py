"""The delay–energy trade-off as a multi-objective Optuna study over μ, with two exact reference fronts.

μ is the operator's preference between delay and energy, so the study does not tune it to one value: each
trial picks μ and the initial scales α0, α_j, trains CC-DDPG's paper variant (the actor decides alone, so the
scales show) at that μ and reports (mean T_total, mean E_total) on validation states as two objectives to
minimise, with the C6/C7 violation rates as constraints (``Trial.set_constraint``: a trial is feasible when
both rates are 0). References on the same axes:

- the oracle's front: the exact optimum solved over a μ grid, averaged over the same validation states;
- pymoo's NSGA-II over allocations for one fixed state (delay and energy as two objectives, the decoder as
  repair), beside the oracle's μ-grid front for that same state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from numpy.typing import NDArray
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem
from pymoo.optimize import minimize

from sb3_ccddpg.agents import make_agent
from sb3_ccddpg.evaluation import PolicyMethod, evaluate, held_out_states
from sb3_ccddpg.settings_checks import require_positive_integers, require_timeout
from sb3_ccddpg.solvers.baselines import DecoderRepair
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.scenario import scenario_config
from sb3_ccddpg.studies.storage import HEARTBEAT_INTERVAL, open_storage, pin_study_record, study_record
from sb3_ccddpg.studies.tuning import VALIDATION_SEED
from sb3_ccddpg_envs import SatGroundConfig, action_size, allocation_cost, project


@dataclass(frozen=True)
class TradeoffSettings:
    """What the trade-off study runs.

    :param n_uavs: N
    :param steps: training steps per trial
    :param n_eval_states: validation states per trial and per oracle μ
    :param n_trials: trials this call runs (added to those already in the study)
    :param timeout: stop starting trials after this many seconds (``None``: no limit)
    :param seed: seed of the sampler and of every trial's agent
    :param mu_grid: number of μ values of the oracle's front (evenly spaced in [0, 1])
    :param nsga_population: NSGA-II population
    :param nsga_generations: NSGA-II generations
    :param env_kwargs: every other ``SatGroundConfig`` field of the scenario (M, ξ_total, the data range, ...)
    """

    n_uavs: int = 11
    steps: int = 20_000
    n_eval_states: int = 200
    n_trials: int = 20
    timeout: float | None = None
    seed: int = 0
    mu_grid: int = 21
    nsga_population: int = 100
    nsga_generations: int = 200
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_positive_integers(self, "steps", "n_eval_states", "n_trials", "mu_grid", "nsga_population", "nsga_generations")
        require_timeout(self.timeout)
        self.config()  # validates the scenario with the env's own messages

    def config(self, mu: float = 0.5) -> SatGroundConfig:
        """The env configuration of the study at one μ (each trial draws its own)."""
        return scenario_config(self.n_uavs, self.env_kwargs, mu=mu)


def _objectives(settings: TradeoffSettings, trial: optuna.Trial) -> tuple[float, float]:
    mu = trial.suggest_float("mu", 0.0, 1.0)
    scales = {
        "alpha0_init": trial.suggest_float("alpha0_init", 0.5, 0.999),
        "alpha_init": trial.suggest_float("alpha_init", 0.5, 0.999),
    }
    config = settings.config(mu)
    model = make_agent("ccddpg-paper", config, settings.seed, policy_kwargs=scales)
    model.learn(settings.steps)
    frame = evaluate(PolicyMethod(model, config, "trial"), config, settings.n_eval_states, VALIDATION_SEED)
    trial.set_constraint("C6_violation_rate", float(1 - frame["C6_ok"].mean()))
    trial.set_constraint("C7_violation_rate", float(1 - frame["C7_ok"].mean()))
    trial.set_user_attr("objective", float(frame["objective"].mean()))
    return float(frame["T_total"].mean()), float(frame["E_total"].mean())


def oracle_front(config: SatGroundConfig, n_states: int, mus: NDArray[np.float64]) -> pd.DataFrame:
    """The exact optimum's mean delay and energy over validation states, for each μ.

    :param config: system parameters
    :param n_states: validation states
    :param mus: μ values
    :return: columns ``mu``, ``T_total`` (s), ``E_total`` (J)
    """
    oracle = Oracle(config)
    rows = []
    for mu in mus:
        frame = evaluate(oracle, config, n_states, VALIDATION_SEED, mu=float(mu))
        rows.append({"mu": float(mu), "T_total": frame["T_total"].mean(), "E_total": frame["E_total"].mean()})
    return pd.DataFrame(rows)


class _DelayEnergyProblem(Problem):
    """Minimise (T_total, E_total) of one state over actions in the box, each decoded by ``project``."""

    def __init__(self, config: SatGroundConfig, data_mb: NDArray[np.float64]) -> None:
        super().__init__(n_var=action_size(config.n_uavs, config.n_satellites), n_obj=2, xl=-1.0, xu=1.0)
        self.config = config
        self.data_mb = data_mb

    def _evaluate(self, x: NDArray[np.float64], out: dict[str, NDArray[np.float64]], *args: object, **kwargs: object) -> None:
        allocations = project(x, self.config.n_uavs, self.config.n_satellites, self.config.channels_total)
        terms = allocation_cost(self.config, self.data_mb, allocations)
        out["F"] = np.stack([terms["T_total"], terms["E_total"]], axis=-1)


def nsga2_front(config: SatGroundConfig, data_mb: NDArray[np.float64], settings: TradeoffSettings) -> pd.DataFrame:
    """NSGA-II's non-dominated (T_total, E_total) allocations for one state, and the oracle's μ-grid front.

    :param config: system parameters
    :param data_mb: the state's D_i (MB)
    :param settings: NSGA-II budget, μ grid and seed
    :return: columns ``source`` (``"NSGA-II"`` or ``"oracle"``), ``T_total`` (s), ``E_total`` (J), ``mu``
        (the oracle's μ; NaN for NSGA-II)
    """
    algorithm = NSGA2(pop_size=settings.nsga_population, repair=DecoderRepair(config))
    result = minimize(
        _DelayEnergyProblem(config, data_mb), algorithm, ("n_gen", settings.nsga_generations), seed=settings.seed
    )
    front = np.atleast_2d(result.F)
    rows = [{"source": "NSGA-II", "T_total": t, "E_total": e, "mu": math.nan} for t, e in front]
    oracle = Oracle(config)
    for mu in np.linspace(0.0, 1.0, settings.mu_grid):
        terms = allocation_cost(config, data_mb, oracle.allocate(data_mb, float(mu)))
        rows.append({"source": "oracle", "T_total": float(terms["T_total"]), "E_total": float(terms["E_total"]), "mu": mu})
    return pd.DataFrame(rows)


def trade_off(
    settings: TradeoffSettings,
    output: Path,
    storage: str | None = None,
    study_name: str = "ccddpg-tradeoff",
    heartbeat_interval: int = HEARTBEAT_INTERVAL,
) -> optuna.Study:
    """Run (or continue) the multi-objective study and write its fronts.

    Writes into ``output``: ``tradeoff_trials.csv`` (every trial: μ, α inits, T, E, violation rates,
    feasibility, Pareto-optimality), ``oracle_front.csv``, ``nsga2_front.csv`` and ``pareto_front.png``.

    :param settings: budgets
    :param output: result folder; holds the default storage ``tradeoff.db``
    :param storage: RDB URL or journal file (see :func:`~sb3_ccddpg.studies.storage.open_storage`); ``None`` means
        ``sqlite:///<output>/tradeoff.db``
    :param study_name: the study's name in the storage
    :param heartbeat_interval: seconds between heartbeats of a running trial (relational storages)
    :return: the study
    """
    from sb3_ccddpg.studies.plots import pareto_fronts, save_figure  # matplotlib only where plots are drawn

    output.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(
            storage if storage is not None else f"sqlite:///{output / 'tradeoff.db'}", output, heartbeat_interval
        ),
        sampler=optuna.samplers.TPESampler(multivariate=True, seed=settings.seed),
        directions=["minimize", "minimize"],
        load_if_exists=True,
    )
    pin_study_record(study, study_record(settings, settings.config()))
    study.optimize(lambda trial: _objectives(settings, trial), n_trials=settings.n_trials, timeout=settings.timeout)

    config = settings.config()
    trials = tradeoff_table(study)
    oracle = oracle_front(config, settings.n_eval_states, np.linspace(0.0, 1.0, settings.mu_grid))
    state = held_out_states(config, 1, VALIDATION_SEED)[0]
    single = nsga2_front(config, state, settings)
    write_atomically(output / "tradeoff_trials.csv", trials.to_csv(index=False))
    write_atomically(output / "oracle_front.csv", oracle.to_csv(index=False))
    write_atomically(output / "nsga2_front.csv", single.to_csv(index=False))
    save_figure(pareto_fronts(trials, oracle, single), output / "pareto_front.png")
    return study


def tradeoff_table(study: optuna.Study) -> pd.DataFrame:
    """The study's finished trials with their objectives, constraints and Pareto-optimality.

    :param study: the multi-objective study
    :return: one row per complete trial: ``number``, ``mu``, ``alpha0_init``, ``alpha_init``, ``T_total``,
        ``E_total``, ``objective``, ``C6_violation_rate``, ``C7_violation_rate``, ``feasible``, ``pareto``
    """
    best = {trial.number for trial in study.best_trials}
    rows = []
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        c6, c7 = trial.constraints["C6_violation_rate"], trial.constraints["C7_violation_rate"]
        rows.append(
            {
                "number": trial.number,
                **trial.params,
                "T_total": trial.values[0],
                "E_total": trial.values[1],
                "objective": trial.user_attrs.get("objective", math.nan),
                "C6_violation_rate": c6,
                "C7_violation_rate": c7,
                "feasible": c6 <= 0 and c7 <= 0,
                "pareto": trial.number in best,
            }
        )
    return pd.DataFrame(rows)

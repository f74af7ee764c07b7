"""Optuna studies of CC-DDPG: hyperparameters (single objective, pruned) and the delay–energy trade-off over μ.

Conventions follow rl-baselines3-zoo: a TPE sampler (multivariate), a median pruner fed by an evaluation
callback during training, ``load_if_exists`` so that a second call continues the study, and the best
parameters written as a YAML file that ``sb3-ccddpg train --hyperparams`` accepts. By default trials train the
paper's variant (``"ccddpg-paper"``: the actor decides alone), since the actor is what the hyperparameters
change; the default decision mode refines its proposals on top. Any other agent of :data:`TUNABLE_AGENTS` can be
tuned instead (the heads on TD3, SAC, TQC, CrossQ, scored by their actor alone likewise, or an SB3 algorithm
with ``MlpPolicy``), each over its own search space (:func:`sample_hyperparameters`). Trials are scored by the common harness
(:func:`~sb3_ccddpg.evaluation.evaluate`) on *validation* states (seed :data:`VALIDATION_SEED`), never on
the held-out test states of tables and figures.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml
from stable_baselines3.common.callbacks import BaseCallback
from tqdm.auto import tqdm

from sb3_ccddpg.agents import AGENT_LABELS, CONSTRAINED, STOCHASTIC, agent_method, make_agent
from sb3_ccddpg.evaluation import evaluate
from sb3_ccddpg.settings_checks import require_positive_integers, require_timeout
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.scenario import scenario_caption, scenario_config
from sb3_ccddpg.studies.storage import HEARTBEAT_INTERVAL, open_storage, pin_study_record, study_record
from sb3_ccddpg_envs import SatGroundConfig

#: Seed of the validation states trials are scored on (test tables use 1 000 000 + seed).
VALIDATION_SEED = 2_000_000
#: Agents a study can tune. ``"ccddpg"`` decides by the twin's search, which its hyperparameters barely move: tune
#: ``"ccddpg-paper"`` (the same network deciding alone) and train ``"ccddpg"`` with the result.
TUNABLE_AGENTS = tuple(name for name in AGENT_LABELS if name != "ccddpg")
#: Agents without target networks (no τ to tune).
WITHOUT_TARGET_NETWORKS = ("crossq", "cccrossq")
#: Agents whose actor is the paper's (:class:`~sb3_ccddpg.policies.CCDDPGPolicy`: per-head branches).
WITH_HEAD_BRANCHES = ("ccddpg-paper", "cctd3")


@dataclass(frozen=True)
class TuneSettings:
    """What a study runs.

    :param agent: the agent its trials train, one of :data:`TUNABLE_AGENTS`
    :param n_uavs: N
    :param mu: μ in [0, 1] (hyperparameter study)
    :param steps: training steps per trial
    :param evaluations: intermediate evaluations per trial (reported to the pruner)
    :param n_eval_states: validation states per evaluation
    :param n_trials: trials this call runs (added to those already in the study)
    :param timeout: stop starting trials after this many seconds (``None``: no limit)
    :param n_jobs: trials run in parallel threads by this process
    :param seed: seed of the sampler and of every trial's agent
    :param n_startup_trials: random trials before TPE and before pruning starts
    :param env_kwargs: every other ``SatGroundConfig`` field of the scenario (M, ξ_total, the data range, ...)
    """

    agent: str = "ccddpg-paper"
    n_uavs: int = 11
    mu: float = 0.5
    steps: int = 20_000
    evaluations: int = 4
    n_eval_states: int = 200
    n_trials: int = 20
    timeout: float | None = None
    n_jobs: int = 1
    seed: int = 0
    n_startup_trials: int = 5
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.agent not in TUNABLE_AGENTS:
            hint = "; tune 'ccddpg-paper' and train 'ccddpg' with its best_hyperparams.yaml" if self.agent == "ccddpg" else ""
            raise ValueError(f"agent must be one of {list(TUNABLE_AGENTS)}, got {self.agent!r}{hint}")
        require_positive_integers(self, "steps", "evaluations", "n_eval_states", "n_trials", "n_jobs", "n_startup_trials")
        require_timeout(self.timeout)
        self.config()  # validates the scenario with the env's own messages

    def config(self) -> SatGroundConfig:
        """The env configuration every trial trains and is scored on."""
        return scenario_config(self.n_uavs, self.env_kwargs, mu=self.mu)


def sample_hyperparameters(trial: optuna.trial.BaseTrial, agent: str = "ccddpg-paper") -> dict[str, Any]:
    """An agent's constructor arguments drawn for one trial (its search space).

    Every agent: learning rate, γ, batch and buffer size, the width of its two hidden layers, and τ where it has
    target networks (not CrossQ). Deterministic actors (DDPG, TD3 and their CC versions): the σ of their
    Gaussian exploration noise; squashed-Gaussian ones (SAC, TQC, CrossQ and theirs): the entropy coefficient
    (``"auto"`` or fixed). Agents with the constraint heads: the initial α0 and α_j and whether they are learned,
    and for the paper's actor (CC-DDPG, CC-TD3) the width of its per-head branches.

    :param trial: the trial
    :param agent: one of :data:`TUNABLE_AGENTS`
    :return: keyword arguments of :func:`~sb3_ccddpg.agents.make_agent` (``policy_kwargs`` included)
    """
    width = trial.suggest_categorical("net_width", [64, 128, 256, 400])
    hyperparameters: dict[str, Any] = {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True)}
    if agent not in WITHOUT_TARGET_NETWORKS:
        hyperparameters["tau"] = trial.suggest_float("tau", 1e-3, 0.05, log=True)
    hyperparameters["gamma"] = trial.suggest_float("gamma", 0.0, 0.9)
    hyperparameters["batch_size"] = trial.suggest_categorical("batch_size", [64, 128, 256, 512])
    hyperparameters["buffer_size"] = trial.suggest_categorical("buffer_size", [10_000, 100_000, 1_000_000])
    if agent in STOCHASTIC:
        hyperparameters["ent_coef"] = trial.suggest_categorical("ent_coef", ["auto", 0.1, 0.01, 0.001])
    else:
        hyperparameters["exploration_noise"] = trial.suggest_float("exploration_noise", 0.01, 0.3, log=True)
    policy_kwargs: dict[str, Any] = {"net_arch": [width, width]}
    if agent in WITH_HEAD_BRANCHES:
        policy_kwargs["branch_width"] = trial.suggest_categorical("branch_width", [32, 64, 128])
    if agent in CONSTRAINED:
        policy_kwargs["alpha0_init"] = trial.suggest_float("alpha0_init", 0.5, 0.999)
        policy_kwargs["alpha_init"] = trial.suggest_float("alpha_init", 0.5, 0.999)
        policy_kwargs["learnable_scales"] = trial.suggest_categorical("learnable_scales", [True, False])
    hyperparameters["policy_kwargs"] = policy_kwargs
    return hyperparameters


def hyperparameters_of(params: dict[str, Any], agent: str = "ccddpg-paper") -> dict[str, Any]:
    """Constructor arguments from a trial's ``params`` (the inverse of :func:`sample_hyperparameters`).

    :param params: ``trial.params``
    :param agent: the agent the study tuned
    :return: keyword arguments of :func:`~sb3_ccddpg.agents.make_agent`
    """
    return sample_hyperparameters(optuna.trial.FixedTrial(params), agent)


def agent_to_train(agent: str) -> str:
    """The agent ``sb3-ccddpg train --algorithm`` takes a study's best hyperparameters to (``"ccddpg"`` for a study
    of the paper's variant: the same network, deciding with the twin's help)."""
    return "ccddpg" if agent == "ccddpg-paper" else agent


class TrialEvalCallback(BaseCallback):
    """Evaluate every ``every`` steps, report the mean objective to the trial, stop when the pruner says so.

    :param trial: the running trial
    :param config: env configuration
    :param every: steps between evaluations
    :param n_states: validation states per evaluation
    :param agent: the agent's name (how its actions are read, :func:`~sb3_ccddpg.agents.agent_method`)
    """

    def __init__(
        self, trial: optuna.Trial, config: SatGroundConfig, every: int, n_states: int, agent: str = "ccddpg-paper"
    ) -> None:
        super().__init__()
        self.trial = trial
        self.config = config
        self.agent = agent
        self.every = every
        self.n_states = n_states
        self.pruned = False
        self.last_value = math.inf

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every != 0:
            return True
        method = agent_method(self.model, self.agent, self.config, "trial")
        self.last_value = float(evaluate(method, self.config, self.n_states, VALIDATION_SEED)["objective"].mean())
        self.trial.report(self.last_value, self.num_timesteps)
        self.pruned = self.trial.should_prune()
        return not self.pruned


def _objective(settings: TuneSettings, trial: optuna.Trial) -> float:
    config = settings.config()
    hyperparameters = sample_hyperparameters(trial, settings.agent)
    if settings.agent in CONSTRAINED:  # scored by the actor alone: what the hyperparameters change
        hyperparameters["policy_kwargs"]["decision"] = "actor"
    model = make_agent(settings.agent, config, settings.seed, **hyperparameters)
    every = max(settings.steps // settings.evaluations, 1)
    callback = TrialEvalCallback(trial, config, every, settings.n_eval_states, settings.agent)
    model.learn(settings.steps, callback=callback)
    if callback.pruned:
        raise optuna.TrialPruned(f"pruned at step {model.num_timesteps} with objective {callback.last_value:.4f}")
    method = agent_method(model, settings.agent, config, "trial")
    return float(evaluate(method, config, settings.n_eval_states, VALIDATION_SEED)["objective"].mean())


def _record_the_agent_of_an_older_study(study: optuna.Study) -> None:
    """Studies recorded before ``agent`` was a setting tuned the paper's variant: write that into their record."""
    previous = study.user_attrs.get("settings")
    if previous is not None and "agent" not in previous.get("search", {}):
        study.set_user_attr("settings", {**previous, "search": {**previous.get("search", {}), "agent": "ccddpg-paper"}})


class _ProgressBar:
    """A tqdm bar over this call's trials, updated by Optuna's callback hook."""

    def __init__(self, total: int) -> None:
        self.bar = tqdm(total=total, desc="trials")

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.bar.update()
        if not any(t.state.is_finished() and t.value is not None for t in study.trials):
            return
        self.bar.set_postfix(best=f"{study.best_value:.4f}")


def tune(
    settings: TuneSettings,
    output: Path,
    storage: str | None = None,
    study_name: str = "ccddpg",
    heartbeat_interval: int = HEARTBEAT_INTERVAL,
) -> optuna.Study:
    """Run (or continue) a hyperparameter study of an agent (CC-DDPG's actor by default) and write its results.

    Writes into ``output``: ``best_hyperparams.yaml`` (for ``sb3-ccddpg train --hyperparams``),
    ``trials.csv`` (every trial of the study), ``optimization_history.png`` and ``param_importances.png``.

    :param settings: budgets and the problem instance
    :param output: result folder; holds the default storage ``study.db``
    :param storage: an RDB URL (``sqlite:///…``, ``postgresql://…``) or a JournalStorage file (``*.log``);
        ``None`` means ``sqlite:///<output>/study.db``
    :param study_name: the study's name in the storage
    :param heartbeat_interval: seconds between heartbeats of a running trial (relational storages)
    :return: the study
    :raises ValueError: when the study was started with other settings (another agent, scenario or budget)
    """
    output.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(storage, output, heartbeat_interval),
        sampler=optuna.samplers.TPESampler(multivariate=True, seed=settings.seed, n_startup_trials=settings.n_startup_trials),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=settings.n_startup_trials, n_warmup_steps=1),
        direction="minimize",
        load_if_exists=True,
    )
    _record_the_agent_of_an_older_study(study)
    pin_study_record(study, study_record(settings, settings.config()))
    study.optimize(
        lambda trial: _objective(settings, trial),
        n_trials=settings.n_trials,
        timeout=settings.timeout,
        n_jobs=settings.n_jobs,
        callbacks=[_ProgressBar(settings.n_trials)],
    )
    write_study_results(study, output)
    return study


def write_study_results(study: optuna.Study, output: Path) -> dict[str, Path]:
    """Best parameters as YAML, all trials as CSV, optimisation history and parameter importances as PNG.

    :param study: a single-objective study
    :param output: result folder
    :return: written files by name
    """
    from sb3_ccddpg.studies.plots import root_figure, save_figure  # matplotlib only where plots are drawn

    written = {"trials.csv": write_atomically(output / "trials.csv", study.trials_dataframe().to_csv(index=False))}
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return written
    record = study.user_attrs.get("settings", {})
    agent = record.get("search", {}).get("agent", "ccddpg-paper")
    best = hyperparameters_of(study.best_trial.params, agent)
    header = f"# best trial {study.best_trial.number} of study {study.study_name!r}: objective {study.best_value:.6f}\n"
    header += f"# agent: {agent}; train: sb3-ccddpg train --algorithm {agent_to_train(agent)} --hyperparams <this file>\n"
    if "scenario" in record:
        header += f"# scenario: {scenario_caption(SatGroundConfig(**record['scenario']))}\n"
    written["best_hyperparams.yaml"] = write_atomically(
        output / "best_hyperparams.yaml", header + yaml.safe_dump(best, sort_keys=True)
    )
    with warnings.catch_warnings():  # Optuna marks its matplotlib plots experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        history = optuna.visualization.matplotlib.plot_optimization_history(study)
        written["optimization_history.png"] = save_figure(root_figure(history), output / "optimization_history.png")
        if len(complete) >= 2:
            importances = optuna.visualization.matplotlib.plot_param_importances(study)
            written["param_importances.png"] = save_figure(root_figure(importances), output / "param_importances.png")
    return written

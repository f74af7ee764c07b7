"""Callbacks for ``SatGround-v0`` (any algorithm, CC-DDPG or not): the env's metrics from ``info``, and an
evaluation of the deployed decision on held-out states."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.callbacks import BaseCallback

from sb3_ccddpg.evaluation import PolicyMethod, evaluate, held_out_states
from sb3_ccddpg.policies import CCDDPGPolicy
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg_envs import SatGroundConfig

__all__ = ["EVAL_SEED", "SatGroundEvalCallback", "SatGroundInfoCallback"]

#: Seed of the evaluation callback's held-out states (tables use 1 000 000 + k, tuning 2 000 000).
EVAL_SEED = 3_000_000


class SatGroundInfoCallback(BaseCallback):
    """Record the env's per-slot metrics as TensorBoard scalars, averaged between two log dumps.

    Keys: ``ccddpg/objective`` (eq 17, unclipped), ``ccddpg/T_total`` (s), ``ccddpg/E_total`` (J),
    ``ccddpg/C6_violation_rate`` and ``ccddpg/C7_violation_rate`` (fractions of slots). The learnable scales
    ``ccddpg/alpha0`` and ``ccddpg/alpha_j/<j>`` are recorded by :class:`~sb3_ccddpg.ccddpg.CCDDPG` itself.

    :param verbose: SB3 verbosity
    """

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "objective" not in info:
                continue
            self.logger.record_mean("ccddpg/objective", float(info["objective"]))
            self.logger.record_mean("ccddpg/T_total", float(info["T_total"]))
            self.logger.record_mean("ccddpg/E_total", float(info["E_total"]))
            self.logger.record_mean("ccddpg/C6_violation_rate", float(not info["C6_ok"]))
            self.logger.record_mean("ccddpg/C7_violation_rate", float(not info["C7_ok"]))
        return True


class SatGroundEvalCallback(BaseCallback):
    """Score the decision the model will deploy on fixed held-out states every ``eval_freq`` steps (SB3's
    ``EvalCallback`` pattern, with the project's evaluation harness) and keep the best model.

    TensorBoard keys (``eval/``): ``objective`` (mean objective of ``predict`` as deployed, the model's decision
    mode included), ``actor_objective`` (a CC-DDPG's actor alone, without the twin's refinement),
    ``gap_to_oracle`` (%, against the exact optimum of the same states: enumerated where affordable, else the
    branch and bound's when it proves every state within ``reference_nodes`` nodes each; otherwise
    ``gap_to_bound`` against its certified lower bounds), ``C6_violation_rate``, ``C7_violation_rate`` and
    ``decision_ms``. The reference is computed once, when training starts.

    :param config: the env configuration the model trains on
    :param eval_freq: steps between evaluations, ≥ 1
    :param n_states: held-out states, ≥ 1 (drawn from ``seed``: never the tables' 1 000 000 + k or tuning's
        2 000 000)
    :param seed: seed of the held-out states
    :param best_model_save_path: folder where ``best_model.zip`` is saved whenever ``eval/objective``
        improves (``None``: not saved)
    :param reference_nodes: node limit of the branch and bound per state, for the reference beyond enumeration
    :param action_map: applied to the model's actions before decoding, for an agent trained behind a wrapper
        that changes their meaning (see :class:`~sb3_ccddpg.evaluation.PolicyMethod`)
    :param verbose: 1 prints each evaluation
    """

    def __init__(
        self,
        config: SatGroundConfig,
        eval_freq: int = 5000,
        n_states: int = 50,
        *,
        seed: int = EVAL_SEED,
        best_model_save_path: str | Path | None = None,
        reference_nodes: int = 20_000,
        action_map: Callable[[NDArray[np.float32]], NDArray[np.floating]] | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if eval_freq < 1 or n_states < 1:
            raise ValueError(f"eval_freq and n_states must be integers ≥ 1, got {eval_freq!r} and {n_states!r}")
        self.config = config
        self.eval_freq = eval_freq
        self.n_states = n_states
        self.seed = seed
        self.best_model_save_path = None if best_model_save_path is None else Path(best_model_save_path)
        self.reference_nodes = reference_nodes
        self.action_map = action_map
        self.best_objective = math.inf
        self.reference_name = ""
        self.reference = math.nan

    def _on_training_start(self) -> None:
        oracle = Oracle(self.config)
        if oracle.enumerates:
            self.reference_name = "oracle"
            self.reference = float(evaluate(oracle, self.config, self.n_states, self.seed)["objective"].mean())
            return
        states = held_out_states(self.config, self.n_states, self.seed)
        solutions = [oracle.solve(data, self.config.mu, node_limit=self.reference_nodes) for data in states]
        proved = all(solution.proved_optimal for solution in solutions)
        self.reference_name = "oracle" if proved else "bound"
        values = [solution.objective if proved else solution.lower_bound for solution in solutions]
        self.reference = float(np.mean(values))

    def _on_step(self) -> bool:
        if self.n_calls % self.eval_freq == 0:
            self.evaluate_now()
        return True

    def evaluate_now(self) -> float:
        """Score the model now, log the ``eval/`` keys and save it if it is the best so far.

        :return: the mean objective of the deployed decision
        """
        deployed = PolicyMethod(self.model, self.config, "deployed", self.action_map)
        frame = evaluate(deployed, self.config, self.n_states, self.seed)
        objective = float(frame["objective"].mean())
        self.logger.record("eval/objective", objective)
        self.logger.record(f"eval/gap_to_{self.reference_name}", 100.0 * (objective / self.reference - 1.0))
        self.logger.record("eval/C6_violation_rate", float(1.0 - frame["C6_ok"].mean()))
        self.logger.record("eval/C7_violation_rate", float(1.0 - frame["C7_ok"].mean()))
        self.logger.record("eval/decision_ms", float(1e3 * frame["decision_time_s"].mean()))
        policy = self.model.policy
        if isinstance(policy, CCDDPGPolicy):
            with policy.actor_alone():
                alone = evaluate(PolicyMethod(self.model, self.config, "actor"), self.config, self.n_states, self.seed)
            self.logger.record("eval/actor_objective", float(alone["objective"].mean()))
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(self.num_timesteps)
        if self.verbose >= 1:
            print(
                f"eval at {self.num_timesteps} steps: objective {objective:.4f} ({self.reference_name} {self.reference:.4f})"
            )
        if objective < self.best_objective:
            self.best_objective = objective
            if self.best_model_save_path is not None:
                self.best_model_save_path.mkdir(parents=True, exist_ok=True)
                self.model.save(self.best_model_save_path / "best_model.zip")
        return objective

"""Train an agent into a run folder, with checkpoints (model and replay buffer), and resume from the latest one.

A run folder holds ``settings.json`` (what was trained, on which env), ``monitor.csv`` (SB3's episode rewards
and lengths, appended across resumes), ``tensorboard/``, ``checkpoints/model_<steps>_steps.zip`` with the
replay buffer of the latest checkpoint beside it, ``best_model.zip`` (the checkpoint whose deployed decision
scored best on the evaluation callback's held-out states) and ``model.zip`` once training has finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file

from sb3_ccddpg.agents import AGENT_CLASSES, AGENT_LABELS, CONSTRAINED, agent_method, make_agent, make_env
from sb3_ccddpg.callbacks import SatGroundEvalCallback, SatGroundInfoCallback
from sb3_ccddpg.settings_checks import require_positive_integers
from sb3_ccddpg.studies.reporting import write_atomically
from sb3_ccddpg.studies.scenario import scenario_config
from sb3_ccddpg_envs import SatGroundConfig

_CHECKPOINT = re.compile(r"model_(\d+)_steps\.zip")


@dataclass(frozen=True)
class TrainSettings:
    """What a run trains.

    :param algorithm: agent name, one of :data:`~sb3_ccddpg.agents.AGENT_LABELS`
    :param n_uavs: N
    :param mu: μ in [0, 1] (ignored in the objective when ``observe_mu``: μ is then drawn per episode)
    :param observe_mu: train one μ-conditioned policy (μ in the observation, drawn per episode)
    :param steps: total training steps (env steps)
    :param seed: seed of the agent and its env
    :param checkpoint_every: steps between checkpoints
    :param tensorboard: write TensorBoard logs
    :param hyperparameters: agent constructor arguments replacing the shared bandit settings
    :param env_kwargs: every other ``SatGroundConfig`` field of the scenario (M, ξ_total, the data range, ...)
    :param eval_states: held-out states the deployed decision is scored on at every checkpoint
        (:class:`~sb3_ccddpg.callbacks.SatGroundEvalCallback`: ``eval/`` scalars, ``best_model.zip``); 0 disables
    """

    algorithm: str = "ccddpg"
    n_uavs: int = 11
    mu: float = 0.5
    observe_mu: bool = False
    steps: int = 20_000
    seed: int = 0
    checkpoint_every: int = 5000
    tensorboard: bool = True
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_states: int = 20

    def __post_init__(self) -> None:
        if self.eval_states < 0:
            raise ValueError(f"eval_states must be an integer ≥ 0, got {self.eval_states!r}")
        if self.algorithm not in AGENT_LABELS:
            raise ValueError(f"algorithm must be one of {sorted(AGENT_LABELS)}, got {self.algorithm!r}")
        require_positive_integers(self, "steps", "checkpoint_every")
        self.config()  # validates the scenario with the env's own messages

    def config(self) -> SatGroundConfig:
        """The env configuration of the run."""
        return scenario_config(self.n_uavs, self.env_kwargs, mu=self.mu, observe_mu=self.observe_mu)


class CheckpointWithBuffer(BaseCallback):
    """Save ``model_<steps>_steps.zip`` and the replay buffer beside it once ``every`` more steps have run.

    Saved at the end of a rollout, after SB3 has stored its transitions, so the buffer holds every step the
    step count says. Only the latest replay buffer is kept (they are large); each file is written under a
    temporary name and renamed, so an interrupted save never leaves a half-written checkpoint.

    :param folder: checkpoint folder
    :param every: steps between checkpoints, ≥ 1
    """

    def __init__(self, folder: Path, every: int) -> None:
        super().__init__()
        self.folder = folder
        self.every = every
        self._next = 0

    def _on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.num_timesteps >= self._next:
            save_checkpoint(self.model, self.folder)
            self._next = (self.num_timesteps // self.every + 1) * self.every


def save_checkpoint(model: BaseAlgorithm, folder: Path) -> Path:
    """Save the model and its replay buffer as the checkpoint at ``model.num_timesteps``.

    :param model: the agent
    :param folder: checkpoint folder (created if missing)
    :return: the model file
    """
    folder.mkdir(parents=True, exist_ok=True)
    steps = model.num_timesteps
    model_path = folder / f"model_{steps}_steps.zip"
    save_atomically(model.save, model_path)
    if isinstance(model, OffPolicyAlgorithm):
        save_atomically(model.save_replay_buffer, folder / f"replay_buffer_{steps}_steps.pkl")
        for old in folder.glob("replay_buffer_*_steps.pkl"):
            if old.name != f"replay_buffer_{steps}_steps.pkl":
                old.unlink()
    return model_path


def save_atomically(save: Any, path: Path) -> None:
    """Call ``save`` on a temporary file beside ``path``, then move it into place (no half-written file).

    :param save: a function of one path, e.g. ``model.save``
    :param path: the file's final path, with its suffix (SB3's ``save`` adds none when the path has one)
    """
    temporary = path.with_name(f".{path.name}.tmp{path.suffix}")
    save(temporary)
    os.replace(temporary, path)


def latest_checkpoint(run_dir: Path) -> tuple[int, Path]:
    """The step count and model file of a run's latest checkpoint.

    :param run_dir: run folder
    :return: ``(steps, path)``
    :raises FileNotFoundError: when the run has no checkpoint
    """
    paths = (run_dir / "checkpoints").glob("model_*_steps.zip")
    found = [(int(match[1]), path) for path in paths if (match := _CHECKPOINT.fullmatch(path.name))]
    if not found:
        raise FileNotFoundError(f"no checkpoint model_<steps>_steps.zip in {run_dir / 'checkpoints'}")
    return max(found)


def read_settings(run_dir: Path) -> TrainSettings:
    """The settings a run was started with (its ``settings.json``).

    :param run_dir: run folder
    :return: the settings
    :raises ValueError: when the file is missing fields or holds bad values
    """
    path = run_dir / "settings.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return TrainSettings(**record)
    except FileNotFoundError:
        raise FileNotFoundError(f"{run_dir} is not a run folder: {path.name} is missing") from None
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{path} is not a valid run settings file: {error}") from None


def train(settings: TrainSettings, run_dir: Path, *, progress: bool = True) -> BaseAlgorithm:
    """Train a new agent into ``run_dir``.

    :param settings: what to train
    :param run_dir: new or empty run folder
    :param progress: show a progress bar
    :return: the trained agent (also saved as ``run_dir/model.zip``)
    :raises FileExistsError: when ``run_dir`` already holds a run (resume it instead)
    """
    if (run_dir / "settings.json").exists():
        raise FileExistsError(f"{run_dir} already holds a run; resume it with --resume {run_dir} or choose a new folder")
    write_atomically(run_dir / "settings.json", json.dumps(dataclasses.asdict(settings), indent=2))
    model = make_agent(
        settings.algorithm,
        settings.config(),
        settings.seed,
        tensorboard_log=str(run_dir / "tensorboard") if settings.tensorboard else None,
        monitor_file=str(run_dir / "monitor.csv"),
        **settings.hyperparameters,
    )
    return _learn(model, settings, run_dir, settings.steps, progress)


def resume(run_dir: Path, *, steps: int | None = None, progress: bool = True) -> BaseAlgorithm:
    """Continue a run from its latest checkpoint: step count, replay buffer and TensorBoard run continue.

    :param run_dir: run folder written by :func:`train`
    :param steps: new total step budget; ``None`` keeps the run's own
    :param progress: show a progress bar
    :return: the trained agent (also saved as ``run_dir/model.zip``)
    """
    settings = read_settings(run_dir)
    total = settings.steps if steps is None else steps
    _, path = latest_checkpoint(run_dir)
    env = make_env(settings.algorithm, settings.config(), monitor_file=str(run_dir / "monitor.csv"))
    model = AGENT_CLASSES[settings.algorithm].load(path, env=env)
    buffer = path.with_name(path.name.replace("model_", "replay_buffer_").replace(".zip", ".pkl"))
    if isinstance(model, OffPolicyAlgorithm) and buffer.exists():
        model.load_replay_buffer(buffer)
    return _learn(model, settings, run_dir, total, progress)


def _learn(model: BaseAlgorithm, settings: TrainSettings, run_dir: Path, total: int, progress: bool) -> BaseAlgorithm:
    checkpoints = run_dir / "checkpoints"
    callbacks: list[BaseCallback] = [SatGroundInfoCallback(), CheckpointWithBuffer(checkpoints, settings.checkpoint_every)]
    if settings.eval_states > 0:
        action_map = agent_method(model, settings.algorithm, settings.config()).action_map
        callbacks.append(
            SatGroundEvalCallback(
                settings.config(),
                settings.checkpoint_every,
                settings.eval_states,
                best_model_save_path=run_dir,
                action_map=action_map,
            )
        )
    callback = CallbackList(callbacks)
    remaining = total - model.num_timesteps
    if remaining > 0:
        model.learn(
            remaining,
            callback=callback,
            progress_bar=progress,
            tb_log_name=settings.algorithm,
            reset_num_timesteps=model.num_timesteps == 0,
        )
    if not (checkpoints / f"model_{model.num_timesteps}_steps.zip").exists():
        save_checkpoint(model, checkpoints)
    save_atomically(model.save, run_dir / "model.zip")
    return model


def saved_model(given: Path) -> tuple[Path, str, SatGroundConfig]:
    """The model file, agent name and scenario of ``--model``: a run folder, a model in one, or a saved model with
    the constraint heads (CC-DDPG or :mod:`sb3_ccddpg.algorithms`).

    :param given: a run folder of ``train``, a model ``.zip`` in it (or in its ``checkpoints/``), or a model with
        the constraint heads saved anywhere (it carries its scenario, ``env_config``)
    :return: ``(model file, agent name, configuration)``
    :raises FileNotFoundError: when the path does not exist
    :raises ValueError: when a model outside a run folder does not carry its scenario
    """
    path = given / "model.zip" if given.is_dir() else given
    if not path.exists():
        raise FileNotFoundError(f"--model {given}: no such {'model.zip in the folder' if given.is_dir() else 'file'}")
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    if (run_dir / "settings.json").exists():
        run = read_settings(run_dir)
        return path, run.algorithm, run.config()
    try:
        data, _, _ = load_from_zip_file(path, device="cpu", load_data=True)
    except Exception as error:  # SB3 raises many kinds for a file that is not a saved model
        raise ValueError(f"--model {path} is not in a run folder (no settings.json) and not a saved model: {error}") from None
    algorithm = constrained_agent(data or {})
    if algorithm is None:
        raise ValueError(
            f"--model {path} is not in a run folder (no settings.json) and not a model with the constraint heads "
            f"(one of {list(CONSTRAINED)}), which carry their scenario"
        )
    config = (data or {}).get("env_config")
    if not isinstance(config, SatGroundConfig):
        raise ValueError(f"--model {path} is not in a run folder (no settings.json) and does not carry its scenario")
    return path, algorithm, config


def constrained_agent(data: dict[str, Any]) -> str | None:
    """The agent name of a saved model with the constraint heads (from its policy class and decision), else ``None``."""
    policies = {
        policy: name
        for name in CONSTRAINED
        if name != "ccddpg-paper"
        for policy in (AGENT_CLASSES[name].constrained_policy, *AGENT_CLASSES[name].other_policies)  # type: ignore[attr-defined]
    }
    policy_class = data.get("policy_class")
    for base in policy_class.__mro__ if isinstance(policy_class, type) else ():
        if base in policies:  # the most specific first: a CCTD3Policy is also a CCDDPGPolicy
            paper = policies[base] == "ccddpg" and data.get("policy_kwargs", {}).get("decision") == "actor"
            return "ccddpg-paper" if paper else policies[base]
    return None

"""Deciding with ONNX Runtime: a trained constrained actor exported once, then run without torch's per-op overhead.

SB3's way to deploy a policy is to export it to ONNX and run it with ONNX Runtime (SB3's documentation, "Exporting
models"). Here that matters for speed: one state's forward pass of :class:`~sb3_ccddpg.set_policy.SetActor` is
about 80 small tensor operations, and at batch size 1 eager torch spends most of its time dispatching them (the
forward pass alone takes about 0.6 ms at N = 11, against 0.07 ms in ONNX Runtime; ``sb3-ccddpg bench latency``
times whole decisions, observation and decoding included, in both).

- :func:`export_onnx` writes a model's deterministic actor (``policy._predict(obs, deterministic=True)``, what
  SB3's ``predict`` runs) with its sizes, decision mode and env configuration in the file's metadata.
- :class:`OnnxPolicy` loads such a file and decides as the model did: SB3's ``predict`` signature, the same
  decision modes (:data:`~sb3_ccddpg.solvers.search.DECISIONS`) applied to the exported actor's proposal by the
  same :class:`~sb3_ccddpg.solvers.search.TwinSearch`, so it can stand wherever the model's ``predict`` is used
  (the evaluation harness's :class:`~sb3_ccddpg.evaluation.PolicyMethod` included).

The graph is exported at the model's N and M (a set policy serves another size after
``CCDDPG.load(path, env=<env of that size>)``; export that model) and a dynamic batch size.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import pathlib
import warnings
from typing import Any

import numpy as np
import torch as th
from numpy.typing import NDArray
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from torch import nn

from sb3_ccddpg.policy_mixins import TwinDecisions
from sb3_ccddpg.solvers.search import Calibration, decision_refinement
from sb3_ccddpg_envs import SatGroundConfig

__all__ = ["FORMAT", "OnnxPolicy", "export_onnx"]

#: Version of the metadata :func:`export_onnx` writes (key ``sb3_ccddpg.format``).
FORMAT = "1"
_PREFIX = "sb3_ccddpg."
_INPUT, _OUTPUT = "observation", "action"


class _DeterministicActions(nn.Module):
    """What SB3's ``predict`` computes after its preprocessing, as a module to export."""

    def __init__(self, policy: BasePolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, observation: th.Tensor) -> th.Tensor:
        return self.policy._predict(observation, deterministic=True)


def export_onnx(model: BaseAlgorithm, path: str | os.PathLike[str] | None = None) -> bytes:
    """Export ``model``'s deterministic actor, its sizes, decision mode and env configuration to ONNX.

    :param model: a model with the constraint heads (CC-DDPG with any of its policies, or an agent of
        :mod:`sb3_ccddpg.algorithms`) built on ``SatGround-v0`` (its ``env_config`` is written with it); its policy is
        left in evaluation mode, as SB3's ``predict`` leaves it
    :param path: where to write the file (atomically; its folder is made); ``None``: only return it
    :return: the serialised ONNX model
    :raises ValueError: for a policy without the constraint heads, without its env configuration, or a ``path``
        that is a folder
    """
    import onnx  # here, not at the top: onnx and ONNX Runtime add half a second to every import of the package

    policy = model.policy
    if not isinstance(policy, TwinDecisions):
        raise ValueError(f"export_onnx needs a policy with the constraint heads, got {type(policy).__name__}")
    config = getattr(model, "env_config", None) or policy.decision_kwargs.get("decision_config")
    if not isinstance(config, SatGroundConfig):
        raise ValueError("export_onnx needs the model's env configuration (a model built on a SatGround-v0 env has it)")
    samples = np.stack([policy.observation_space.sample() for _ in range(2)]).astype(np.float32)
    example = th.as_tensor(samples, device=policy.device)  # a batch of 2: export does not specialise it to 1
    batch = th.export.Dim("batch", min=1)
    validate = th.distributions.Distribution._validate_args
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    th.distributions.Distribution.set_default_validate_args(False)  # a data-dependent check export cannot trace
    exporter_log.setLevel(logging.ERROR)  # its warnings are about operators these policies do not use (torchvision's)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module="copyreg")  # torch's LeafSpec deprecation
            program = th.onnx.export(
                _DeterministicActions(policy).eval(),
                (example,),
                input_names=[_INPUT],
                output_names=[_OUTPUT],
                dynamo=True,
                dynamic_shapes=({0: batch},),
                verbose=False,
            )
    finally:
        th.distributions.Distribution.set_default_validate_args(validate)
        exporter_log.setLevel(level)
    assert program is not None  # dynamo=True without f returns the program
    proto = program.model_proto
    metadata = {
        "format": FORMAT,
        "policy": type(policy).__name__,
        "n_uavs": str(policy.head_kwargs["n_uavs"]),
        "n_satellites": str(policy.head_kwargs["n_satellites"]),
        "decision": policy.decision_kwargs["decision"],
        "env_config": json.dumps(dataclasses.asdict(config)),
    }
    onnx.helper.set_model_props(proto, {_PREFIX + key: value for key, value in metadata.items()})
    serialised = proto.SerializeToString()
    if path is not None:
        _write_atomically(pathlib.Path(path), serialised)
    return serialised


def _write_atomically(destination: pathlib.Path, content: bytes) -> None:
    """Through a temporary file beside ``destination``, so a reader never sees half a model; its folder is made."""
    if destination.is_dir():
        raise ValueError(
            f"the ONNX file's path {destination} is a folder; give a file name such as {destination / 'model.onnx'}"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.tmp")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


class OnnxPolicy:
    """A constrained actor exported by :func:`export_onnx`, run by ONNX Runtime with the model's decision modes.

    :param model: the ONNX file (a path) or its bytes
    :param decision: decision mode, one of :data:`~sb3_ccddpg.solvers.search.DECISIONS`; ``None``: the exported
        model's
    :param threads: ONNX Runtime's intra-op threads, ≥ 1 (1: one core per process, like the project's torch runs)
    :raises FileNotFoundError: when the file does not exist
    :raises ValueError: naming the file, when it is not an ONNX model written by :func:`export_onnx`; for
        ``threads`` < 1
    """

    def __init__(self, model: str | os.PathLike[str] | bytes, decision: str | None = None, threads: int = 1) -> None:
        import onnx  # see export_onnx
        import onnxruntime as ort

        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an integer ≥ 1, got {threads!r}")
        if not isinstance(model, bytes) and not pathlib.Path(model).is_file():
            raise FileNotFoundError(f"{model}: no such ONNX file")
        source = "the given bytes" if isinstance(model, bytes) else str(model)
        try:
            proto = onnx.load_model(io.BytesIO(model) if isinstance(model, bytes) else model, load_external_data=False)
        except Exception as error:  # onnx raises several kinds (DecodeError, OSError) for a file that is not a model
            raise ValueError(f"{source} is not an ONNX model: {error}") from None
        metadata = {prop.key[len(_PREFIX) :]: prop.value for prop in proto.metadata_props if prop.key.startswith(_PREFIX)}
        if metadata.get("format") != FORMAT:
            raise ValueError(
                f"{source} was not written by sb3_ccddpg.export_onnx (format {FORMAT}); its sb3_ccddpg metadata: {metadata}"
            )
        #: The exported policy's class name, N and M.
        self.policy_name = metadata["policy"]
        self.n_uavs, self.n_satellites = int(metadata["n_uavs"]), int(metadata["n_satellites"])
        #: The env configuration the model was built on (its refinements score with it).
        self.config = _config_from_json(metadata["env_config"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        self.session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self._observation_size = int(self.session.get_inputs()[0].shape[-1])
        #: What the last ``"auto"`` measured and chose (``None`` until one is set).
        self.calibration: Calibration | None = None
        self.set_decision(metadata["decision"] if decision is None else decision)

    @property
    def decision(self) -> str:
        """The decision mode in use (``"auto"`` resolved)."""
        return self._decision

    def set_decision(self, decision: str) -> None:
        """Choose how actions are decided from the actor's output, as the model's ``policy.set_decision`` does.

        :param decision: one of :data:`~sb3_ccddpg.solvers.search.DECISIONS` (``"auto"``: timed here, as there)
        """
        self._decision, self.refinement, calibration = decision_refinement(decision, self.config)
        if calibration is not None:
            self.calibration = calibration

    def predict(
        self,
        observation: NDArray[np.floating],
        state: tuple[NDArray[Any], ...] | None = None,
        episode_start: NDArray[np.bool_] | None = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], tuple[NDArray[Any], ...] | None]:
        """SB3's ``predict``: the exported actor's action for each observation, refined by the decision mode.

        :param observation: one observation of shape ``(N,)`` or ``(N + 1,)``, or a batch of them
        :param state: unused (SB3's signature; the actor has no recurrent state)
        :param episode_start: unused
        :param deterministic: must be ``True``: the exported actor is the deterministic one
        :return: actions of shape ``(N + M·N,)`` (or a batch of them), and ``state``
        :raises ValueError: for an observation of another shape, or ``deterministic=False``
        """
        if not deterministic:
            raise ValueError("an OnnxPolicy holds the deterministic actor only; call predict(..., deterministic=True)")
        observations = np.asarray(observation, dtype=np.float32)
        expected = self._observation_size
        if observations.ndim not in (1, 2) or observations.shape[-1] != expected:
            mu = ", then μ" if self.config.observe_mu else ""
            raise ValueError(
                f"observation must have shape ({expected},) or (batch, {expected}) for this model "
                f"(N = {self.n_uavs} data sizes{mu}), got {observations.shape}"
            )
        batch = np.atleast_2d(observations)
        actions = np.clip(self.session.run([_OUTPUT], {_INPUT: batch})[0], -1.0, 1.0)
        if self.refinement is not None:
            actions = self.refinement.refine(batch, actions)
        return (actions if observations.ndim == 2 else actions[0]), state


def _config_from_json(text: str) -> SatGroundConfig:
    fields: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value for name, value in json.loads(text).items()
    }
    return SatGroundConfig(**fields)

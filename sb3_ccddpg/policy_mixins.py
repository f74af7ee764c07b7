"""What every constrained policy shares, whichever SB3 algorithm it serves.

- :class:`TwinDecisions`: the decision modes (:data:`~sb3_ccddpg.solvers.search.DECISIONS`) on top of SB3's
  ``predict``: the actor alone, or its proposal refined by the digital twin.
- :class:`StochasticHeadsActor`: a squashed-Gaussian actor (SAC's, TQC's, CrossQ's) whose sample is mapped
  through :class:`~sb3_ccddpg.torch_layers.AllocationHeads`.
- :class:`FeasibleCritic`: a critic that scores the feasible action an action decodes to.

Why the stochastic setup is a valid policy gradient: the actor samples a pre-head action ``u`` from its
squashed Gaussian ``π_θ(u|s)`` and executes ``x = h_ψ(u)``, with ``h_ψ`` the heads (deterministic,
differentiable almost everywhere, learnable scales ψ). This is SAC on an env whose action is ``u`` and whose
first step applies ``h_ψ``: the critic learns ``Q(s, x)`` of the executed, feasible action, the actor's
reparameterised loss ``α·log π_θ(u|s) − Q(s, h_ψ(u))`` differentiates through ``h_ψ`` (into θ and ψ), and the
log-probability is that of ``u``, whose density the squashed Gaussian gives in closed form (``h_ψ`` is
many-to-one — a common scale of ``|u_ξ|`` and every non-maximal entry of a ``ρ`` column are forgotten — so
``x`` has no density to take). The entropy bonus therefore rewards spread in the pre-head space: it keeps
the actor exploring budget splits and assignments, but it is not the entropy of the executed allocation, and
SAC's automatic temperature targets ``−dim(u)`` in that space. The argmax that picks each UAV's satellite
passes no gradient (as in CC-DDPG); the sampled ``u`` still varies it, so exploration reaches every satellite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import torch as th
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.type_aliases import PyTorchObs

from sb3_ccddpg.solvers.search import DEFAULT_DECISION, Calibration, TwinSearch, decision_refinement
from sb3_ccddpg.torch_layers import ALPHA0_INIT, ALPHA_INIT, AllocationHeads, check_allocation_space, feasible_projection
from sb3_ccddpg_envs import SatGroundConfig

__all__ = ["FeasibleCritic", "StochasticHeadsActor", "StochasticHeadsPolicy", "TwinDecisions"]


class TwinDecisions:
    """Decision modes for an SB3 policy (a mixin placed before the SB3 policy class).

    The policy's ``__init__`` sets :attr:`head_kwargs` before SB3's and calls :meth:`set_decision` after it;
    ``_get_constructor_parameters`` adds both to SB3's, so a saved model keeps its heads and its mode.
    """

    #: What the last ``"auto"`` measured and chose (``None`` until one is set).
    calibration: Calibration | None = None
    refinement: TwinSearch | None = None
    decision_kwargs: dict[str, Any]
    #: The heads' constructor arguments (sizes, scales, ...), saved with the model.
    head_kwargs: dict[str, Any]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data: dict[str, Any] = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(self.head_kwargs)
        data.update(self.decision_kwargs)
        return data

    def set_decision(self, decision: str, config: SatGroundConfig | None = None) -> None:
        """Choose how actions are decided from the actor's output (the same trained actor, any mode).

        ``"auto"`` is resolved here: the exact solver and ``"twin-descent"`` are timed at ``config``'s size
        (:func:`~sb3_ccddpg.solvers.search.calibrate`, kept in :attr:`calibration`) and the policy keeps the mode
        chosen, so ``decision_kwargs`` and a saved model hold ``"exact"`` or ``"twin-descent"``.

        :param decision: one of :data:`~sb3_ccddpg.solvers.search.DECISIONS`
        :param config: the env configuration the refinement scores with; required unless ``"actor"``
        """
        decision, self.refinement, calibration = decision_refinement(decision, config)
        if calibration is not None:
            self.calibration = calibration
        self.decision_kwargs = {"decision": decision, "decision_config": config}

    @contextmanager
    def actor_alone(self) -> Iterator[None]:
        """Inside the block, ``predict`` returns the actor's output without the twin-assisted refinement."""
        refinement, self.refinement = self.refinement, None
        try:
            yield
        finally:
            self.refinement = refinement

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """SB3's ``predict``, then the twin-assisted refinement when ``decision`` asks for one."""
        actions, state = super().predict(observation, state, episode_start, deterministic)  # type: ignore[misc]
        if self.refinement is not None:
            actions = self.refinement.refine(np.asarray(observation), actions)
        return actions, state


class StochasticHeadsActor:
    """A squashed-Gaussian actor whose actions go through the constraint heads (a mixin before the actor class).

    ``forward`` (acting, and SB3's exploration) and ``action_log_prob`` (the actor and entropy losses) return
    ``heads(u)`` for the library's sample ``u``; the log-probability is that of ``u`` (see the module docstring).

    :param n_uavs: N
    :param n_satellites: M
    :param alpha0_init: initial α0 in (0, 1)
    :param alpha_init: initial α_j in (0, 1)
    :param learnable_scales: whether α0 and α_j are learned
    :param budget_scale: whether the budget part is scaled by α0 (``False``: it sums to exactly 1)
    """

    def __init__(
        self,
        *args: Any,
        n_uavs: int,
        n_satellites: int,
        alpha0_init: float,
        alpha_init: float,
        learnable_scales: bool,
        budget_scale: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        check_allocation_space(self.action_space, n_uavs, n_satellites)  # type: ignore[attr-defined]
        self.head_kwargs: dict[str, Any] = {
            "n_uavs": n_uavs,
            "n_satellites": n_satellites,
            "alpha0_init": alpha0_init,
            "alpha_init": alpha_init,
            "learnable_scales": learnable_scales,
            "budget_scale": budget_scale,
        }
        self.heads = AllocationHeads(n_uavs, n_satellites, alpha0_init, alpha_init, learnable_scales, budget_scale)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data: dict[str, Any] = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(self.head_kwargs)
        return data

    @property
    def alpha0(self) -> float:
        """Current α0, the share of ξ_total in use."""
        return float(self.heads.alpha0().item())

    @property
    def alpha(self) -> list[float]:
        """Current α_j, the CPU share each satellite hands out."""
        return [float(a) for a in self.heads.alpha().detach().cpu()]

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        """Feasible actions: the heads applied to the library's (squashed) sample or mean."""
        return self.heads(super().forward(obs, deterministic))  # type: ignore[misc]

    def action_log_prob(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        """Feasible actions and the log-probability of their pre-head sample."""
        pre_head, log_prob = super().action_log_prob(obs)  # type: ignore[misc]
        return self.heads(pre_head), log_prob


class FeasibleCritic(ContinuousCritic):
    """SB3's continuous critic, scoring :func:`~sb3_ccddpg.torch_layers.feasible_projection` of its action input.

    The projection is the identity on feasible actions, so it changes nothing for the actor's outputs and the
    executed actions in the buffer; it makes TD3's target-policy smoothing noise (added after the actor, then
    clipped to the box) score the allocation the noisy action decodes to, never an infeasible one.

    :param n_uavs: N
    :param n_satellites: M
    """

    def __init__(self, *args: Any, n_uavs: int, n_satellites: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.n_uavs, self.n_satellites = n_uavs, n_satellites

    def forward(self, obs: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, ...]:
        """Q-values of the feasible projection of ``actions``."""
        return super().forward(obs, feasible_projection(actions, self.n_uavs, self.n_satellites))

    def q1_forward(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """First Q-value of the feasible projection of ``actions`` (TD3's actor loss)."""
        return super().q1_forward(obs, feasible_projection(actions, self.n_uavs, self.n_satellites))


class StochasticHeadsPolicy(TwinDecisions):
    """A squashed-Gaussian policy (SAC's, TQC's, CrossQ's) whose actor ends in the constraint heads, with the
    decision modes (a mixin placed before the library's policy class; set :attr:`actor_class`).

    :param observation_space: observation space
    :param action_space: action space, ``Box(-1, 1, (N + M·N,))``
    :param lr_schedule: learning-rate schedule
    :param args: the library policy's other positional arguments
    :param n_uavs: N (the algorithm reads it from a ``SatGround-v0`` env when not given)
    :param n_satellites: M (likewise); 0 for a plain simplex over N
    :param alpha0_init: initial α0 in (0, 1)
    :param alpha_init: initial α_j in (0, 1)
    :param learnable_scales: whether α0 and α_j are learned
    :param budget_scale: whether the budget part is scaled by α0 (``False``: it sums to exactly 1)
    :param decision: one of :data:`~sb3_ccddpg.solvers.search.DECISIONS`
    :param decision_config: the env configuration the refinement scores with; unused with ``"actor"``
    :param kwargs: the library policy's keyword arguments (``net_arch``, ``use_sde``, ...)
    """

    #: The library's actor class with :class:`StochasticHeadsActor` before it.
    actor_class: ClassVar[type]

    def __init__(
        self,
        observation_space: Any,
        action_space: Any,
        lr_schedule: Any,
        *args: Any,
        n_uavs: int | None = None,
        n_satellites: int | None = None,
        alpha0_init: float = ALPHA0_INIT,
        alpha_init: float = ALPHA_INIT,
        learnable_scales: bool = True,
        budget_scale: bool = True,
        decision: str = DEFAULT_DECISION,
        decision_config: SatGroundConfig | None = None,
        **kwargs: Any,
    ) -> None:
        if n_uavs is None or n_satellites is None:
            raise ValueError(
                f"{type(self).__name__} needs n_uavs and n_satellites (the algorithm reads them from SatGround-v0)"
            )
        check_allocation_space(action_space, n_uavs, n_satellites)
        self.head_kwargs = {
            "n_uavs": n_uavs,
            "n_satellites": n_satellites,
            "alpha0_init": alpha0_init,
            "alpha_init": alpha_init,
            "learnable_scales": learnable_scales,
            "budget_scale": budget_scale,
        }
        super().__init__(observation_space, action_space, lr_schedule, *args, **kwargs)  # type: ignore[call-arg]
        self.set_decision(decision, decision_config)

    def make_actor(self, features_extractor: Any = None) -> Any:
        """The library's actor factory, building :attr:`actor_class` with the heads."""
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)  # type: ignore[attr-defined]
        return self.actor_class(**actor_kwargs, **self.head_kwargs).to(self.device)  # type: ignore[attr-defined]

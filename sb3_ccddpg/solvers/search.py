"""Twin-assisted decisions: refine the actor's proposal with the digital twin's state and the batched cost model.

The digital twin mirrors every UAV's data size, so at decision time the cost of any allocation can be
computed before it is executed. :class:`TwinSearch` scores a small neighbourhood of the actor's proposal
(the proposal itself and every single-UAV move to another satellite) in one batched call and executes the
best. The modes differ in how a candidate's channels and CPU shares are filled in and how far they search:

- ``"twin-search"``: the proposal's channels; the moved UAV keeps its share, rescaled into its new
  satellite's budget (the decoder's C2 repair). Only the cost model is used.
- ``"exact-fill"``: the actor's assignment kept, its channels and CPU shares replaced by the exact best ones for
  that assignment (the oracle's closed forms, O(N)): no search over assignments, so what it gives is what the
  actor's satellite choices are worth.
- ``"twin-search-exact"``: the structure of the cost model as an inner step, stated as such: for each
  candidate assignment, the exact best channels and shares (the oracle's closed forms, restricted to the
  candidate assignments; C6/C7 honoured). The actor then only proposes where to look.
- ``"twin-descent"``: ``"twin-search-exact"`` repeated from the best assignment found until no single-UAV
  move improves it (a local optimum of the single-move neighbourhood), at most :data:`DESCENT_ROUNDS`
  rounds. Never worse than ``"twin-search-exact"``. The channel part is solved once per decision
  (:class:`~sb3_ccddpg.solvers.oracle.StateProblem`); each round fills ``1 + N·(M−1)`` assignments.
- ``"twin-swap-descent"``: ``"twin-descent"`` whose neighbourhood also holds every exchange of two UAVs on
  different satellites (:func:`~sb3_ccddpg.solvers.oracle.pair_swaps`; a round fills up to
  ``1 + N·(M−1) + N(N−1)/2`` assignments): a swap keeps every satellite's number of UAVs, the move a
  single-UAV neighbourhood can only make in two steps through a worse assignment.
- ``"exact"``: the exact optimum of the twin's state (:class:`~sb3_ccddpg.solvers.oracle.Oracle`: every
  partition up to its enumeration limit, branch and bound beyond, with its per-state time limit). The actor's
  proposal is used only if a time limit stops the branch and bound at something worse.
- ``"twin-robust"``: accounts for the twin's error (``twin_error``, ``twin_bias``): candidates exact for
  plausible true states are scored by their mean objective over states sampled from the posterior given the
  twin's view (:mod:`~sb3_ccddpg.solvers.robust`); ``"twin-descent"`` when the twin is exact.
- ``"auto"``: a request, resolved when the mode is set (:func:`calibrate`): ``"exact"`` where it is measured
  no slower than :data:`DEFAULT_DECISION` at the configuration's size, else :data:`DEFAULT_DECISION`; the
  policy then keeps (and saves) the mode chosen. ``"exact"`` is never worse, so ``"auto"`` is at least as good
  as the default descent and, up to timing noise, no slower.

All return feasible allocations, encoded as actions that the env's decoder maps to themselves.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sb3_ccddpg.solvers.oracle import Oracle, StateProblem, pair_swaps, single_moves
from sb3_ccddpg.solvers.robust import robust_allocation
from sb3_ccddpg_envs import Allocation, SatGroundConfig, allocation_cost, encode, project
from sb3_ccddpg_envs.decode import project_association
from sb3_ccddpg_envs.feasibility import rescale_sum
from sb3_ccddpg_envs.reference import equal_split

#: Decision modes of every constrained policy (:class:`~sb3_ccddpg.policy_mixins.TwinDecisions`): the actor alone,
#: or refined by the twin.
DECISIONS = (
    "actor",
    "exact-fill",
    "twin-search",
    "twin-search-exact",
    "twin-descent",
    "twin-swap-descent",
    "exact",
    "twin-robust",
    "auto",
)
#: The modes :class:`TwinSearch` runs (``"auto"`` resolves to one of them, ``"actor"`` needs none).
REFINEMENTS = ("exact-fill", "twin-search", "twin-search-exact", "twin-descent", "twin-swap-descent", "exact", "twin-robust")
#: CC-DDPG's default decision mode: the best measured by ``sb3-ccddpg bench quality`` (docs/quality/set: at
#: N = 11 it ends at 1.000–1.001× the optimum from the paper's actor and the set policy's alike, where
#: ``"twin-descent"`` stalls at 1.008–1.019×, for 1.2–1.6× the descent's time).
DEFAULT_DECISION = "twin-swap-descent"
#: Most rounds of ``"twin-descent"``. At N = 11, 5 rounds gave the same mean objective as 3 on 200 held-out states.
DESCENT_ROUNDS = 10
#: States :func:`calibrate` times (after one untimed warm-up state), drawn from this seed.
CALIBRATION_STATES = 10
CALIBRATION_SEED = 4_000_000


@dataclass(frozen=True)
class Calibration:
    """What ``"auto"`` measured at a configuration's size, and its choice.

    :param decision: ``"exact"`` or :data:`DEFAULT_DECISION`
    :param exact_ms: the exact solver's mean time per state (ms); ``inf`` if it did not prove a state optimal
        within that state's descent time
    :param descent_ms: :data:`DEFAULT_DECISION`'s mean time per state (ms)
    """

    decision: str
    exact_ms: float
    descent_ms: float


def calibrate(config: SatGroundConfig, n_states: int = CALIBRATION_STATES) -> Calibration:
    """Time the exact solver and the default descent (:data:`DEFAULT_DECISION`) on the same states; choose the
    exact one when no slower.

    The states are drawn uniformly from ``config.data_mb_range`` at ``config.mu``. The descent starts from the
    equal split's assignment (the actor's proposal is not known here; a trained actor's needs no more
    rounds). Beyond the enumeration the branch and bound gets each state's descent time as its time limit:
    a solver that does not prove optimality within it is not the cheaper one, and the calibration stops there,
    so it costs at most about twice the descent's time per state.

    :param config: the configuration (its size decides)
    :param n_states: states timed
    :return: the times and the choice
    """
    states = np.random.default_rng(CALIBRATION_SEED).uniform(*config.data_mb_range, size=(n_states + 1, config.n_uavs))
    oracle = Oracle(config)
    default, start = TwinSearch(config, DEFAULT_DECISION), equal_split(config)
    descent_s = exact_s = 0.0
    for k, data_mb in enumerate(states):  # the first state warms up, untimed
        tic = time.perf_counter()
        default.best(data_mb, config.mu, start)
        descent = time.perf_counter() - tic
        tic = time.perf_counter()
        if oracle.enumerates:
            oracle.allocate(data_mb, config.mu)
        elif not oracle.solve(data_mb, config.mu, time_limit=descent).proved_optimal:
            return Calibration(DEFAULT_DECISION, float("inf"), 1e3 * (descent_s + descent) / max(k, 1))
        exact = time.perf_counter() - tic
        if k:
            descent_s, exact_s = descent_s + descent, exact_s + exact
    decision = "exact" if exact_s <= descent_s else DEFAULT_DECISION
    return Calibration(decision, 1e3 * exact_s / n_states, 1e3 * descent_s / n_states)


def decision_refinement(decision: str, config: SatGroundConfig | None) -> tuple[str, TwinSearch | None, Calibration | None]:
    """Check a decision mode and build what applies it (every policy's and :class:`~sb3_ccddpg.OnnxPolicy`'s
    ``set_decision``); ``"auto"`` is resolved here by :func:`calibrate` at ``config``'s size.

    :param decision: one of :data:`DECISIONS`
    :param config: the env configuration the refinement scores with; required unless ``"actor"``
    :return: the mode (``"auto"`` resolved), its refinement (``None`` for ``"actor"``) and the calibration
        (``"auto"`` only, else ``None``)
    :raises ValueError: for a mode not in :data:`DECISIONS`, or a refining mode without ``config``
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    if decision == "actor":
        return decision, None, None
    if config is None:
        raise ValueError(f"decision={decision!r} needs decision_config (the algorithm reads it from a SatGround-v0 env)")
    calibration = calibrate(config) if decision == "auto" else None
    if calibration is not None:
        decision = calibration.decision
    return decision, TwinSearch(config, decision), calibration


def descend(problem: StateProblem, association: NDArray[np.int64], rounds: int, swaps: bool = False) -> Allocation:
    """Exact fills of the single-move neighbourhood, re-centred on the best, until no move improves.

    :param problem: the state, its channel part solved once for every round
    :param association: the starting assignment φ, shape ``(N,)``
    :param rounds: most rounds (1: one ``"twin-search-exact"``)
    :param swaps: also every exchange of two UAVs on different satellites (``"twin-swap-descent"``)
    :return: the best allocation of the last round's neighbourhood (C6/C7 honoured where it can be)
    """
    centre = association
    for _ in range(rounds):
        neighbours = single_moves(centre, problem.config.n_satellites)
        if swaps:
            neighbours = np.concatenate([neighbours, pair_swaps(centre)])
        candidate, _ = problem.fill(neighbours)
        if np.array_equal(candidate.association, centre):  # no single move improves: a local optimum
            break
        centre = candidate.association
    return candidate


class TwinSearch:
    """Refine actions by scoring the proposal's neighbourhood on the twin's state.

    :param config: the env configuration (cost model parameters, D_max, μ unless observed)
    :param mode: one of :data:`REFINEMENTS` (see the module docstring; ``"auto"`` is resolved by
        :func:`calibrate` first)
    """

    def __init__(self, config: SatGroundConfig, mode: str) -> None:
        if mode not in REFINEMENTS:
            raise ValueError(f"mode must be one of {REFINEMENTS} ('auto': calibrate(config).decision), got {mode!r}")
        self.config = config
        self.mode = mode
        self._oracle = Oracle(config) if mode == "exact" else None

    def refine(self, observations: NDArray[np.floating], actions: NDArray[np.floating]) -> NDArray[np.float32]:
        """The best allocation of each proposal's neighbourhood, as actions.

        :param observations: env observations, shape ``(N,)``/``(N + 1,)`` or batched ``(B, ·)``
        :param actions: the actor's actions for them, shape ``(A,)`` or ``(B, A)``
        :return: refined actions, float32, shaped like ``actions``
        """
        config = self.config
        batch_observations = np.atleast_2d(np.asarray(observations, dtype=np.float64))
        batch_actions = np.atleast_2d(np.asarray(actions, dtype=np.float64))
        refined = np.empty_like(batch_actions)
        for k, (observation, action) in enumerate(zip(batch_observations, batch_actions, strict=True)):
            data = observation[: config.n_uavs] * config.data_mb_range[1]  # the twin's D_i (MB)
            mu = float(observation[config.n_uavs]) if config.observe_mu else config.mu
            refined[k] = encode(self._refined(data, mu, action), config.channels_total)
        return refined.reshape(np.shape(actions)).astype(np.float32)

    def _refined(self, data_mb: NDArray[np.float64], mu: float, action: NDArray[np.float64]) -> Allocation:
        """:meth:`best` for the actor's action; ``"exact-fill"`` decodes only its assignment, and the whole proposal
        only when the assignment's fill cannot meet C6/C7 (the proposal is then compared with it)."""
        config = self.config
        decoded = functools.partial(project, action, config.n_uavs, config.n_satellites, config.channels_total)
        if self.mode == "exact-fill":
            return self._exact_fill(data_mb, mu, project_association(action, config.n_uavs, config.n_satellites), decoded)
        return self.best(data_mb, mu, decoded())

    def best(self, data_mb: NDArray[np.float64], mu: float, proposal: Allocation) -> Allocation:
        """The best allocation of the proposal's neighbourhood for one state.

        :param data_mb: D_i as the twin sees them (MB)
        :param mu: μ
        :param proposal: the actor's decoded allocation
        :return: a feasible allocation, no worse than the proposal on the twin's state (``"twin-robust"``: on the
            mean over its sampled true states; ``"exact-fill"``: the assignment's best allocation that meets
            C6/C7 whenever one does, even where a proposal that violates them scores lower)
        """
        config = self.config
        if self.mode == "twin-search":
            candidates = self._moved(proposal, single_moves(proposal.association, config.n_satellites))
            scores = allocation_cost(config, data_mb, candidates, mu)["objective"]
            best = int(np.argmin(scores))
            return Allocation(candidates.channels[best], candidates.association[best], candidates.cpu_share[best])
        if self.mode == "twin-robust":
            return robust_allocation(config, data_mb, mu, proposal)
        if self.mode == "exact-fill":
            return self._exact_fill(data_mb, mu, proposal.association, lambda: proposal)
        if self._oracle is not None:
            candidate = self._oracle.allocate(data_mb, mu)
        else:
            rounds = 1 if self.mode == "twin-search-exact" else DESCENT_ROUNDS
            swaps = self.mode == "twin-swap-descent"
            candidate = descend(StateProblem(config, data_mb, mu), proposal.association, rounds, swaps)
        return self._no_worse(data_mb, mu, proposal, candidate)

    def _exact_fill(
        self, data_mb: NDArray[np.float64], mu: float, association: NDArray[np.int64], proposal: Callable[[], Allocation]
    ) -> Allocation:
        """The assignment's exact fill; compared with the (decoded on demand) proposal only when it cannot meet C6/C7."""
        candidate, feasible = StateProblem(self.config, data_mb, mu).fill(association[None, :])
        if feasible:  # the best allocation of the proposal's assignment under C6/C7: nothing to compare
            return candidate
        return self._no_worse(data_mb, mu, proposal(), candidate)

    def _no_worse(self, data_mb: NDArray[np.float64], mu: float, proposal: Allocation, candidate: Allocation) -> Allocation:
        """``candidate`` unless the proposal scores lower on the twin's state."""
        scores = allocation_cost(self.config, data_mb, _stack([proposal, candidate]), mu)["objective"]
        return candidate if scores[1] <= scores[0] else proposal

    def _moved(self, proposal: Allocation, assignments: NDArray[np.int64]) -> Allocation:
        """Every single-UAV move with the proposal's channels and each UAV's share kept, rescaled into C2."""
        n_candidates = len(assignments)
        share = proposal.cpu_share.sum(axis=0)  # each UAV's own share, shape (N,)
        on_satellite = assignments[:, None, :] == np.arange(self.config.n_satellites)[:, None]
        cpu_share = rescale_sum(np.where(on_satellite, share, 0.0), above=1.0)
        channels = np.broadcast_to(proposal.channels, (n_candidates, proposal.channels.size)).copy()
        return Allocation(channels, assignments.astype(np.int64), cpu_share)


class SearchFromEqualSplit:
    """A decision mode started from the equal split instead of an actor's proposal: the search alone, as a method.

    :param config: the configuration
    :param mode: one of :data:`REFINEMENTS`
    :param name: label in tables (default: ``mode``)
    """

    def __init__(self, config: SatGroundConfig, mode: str, name: str | None = None) -> None:
        self.search = TwinSearch(config, mode)
        self.start = equal_split(config)
        self.name = mode if name is None else name

    def allocate(self, data_mb: NDArray[np.float64], mu: float) -> Allocation:
        """The mode's allocation for the twin's view ``data_mb``, from the equal split."""
        return self.search.best(data_mb, mu, self.start)


def _stack(allocations: list[Allocation]) -> Allocation:
    return Allocation(
        np.stack([a.channels for a in allocations]),
        np.stack([a.association for a in allocations]),
        np.stack([a.cpu_share for a in allocations]),
    )

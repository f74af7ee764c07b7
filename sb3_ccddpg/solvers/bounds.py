"""A certified lower bound on problem (17) for one state, at any N and M and for every model variant.

Derivation (details in :mod:`~sb3_ccddpg.solvers.branch_and_bound`): the objective is ``channel part +
a·(T_inter + τ) + c·S/τ²`` minimised over ``τ ≥ floor`` (oracle steps 1–3). The channel part is solved
exactly (it does not depend on the assignment). For the rest, ``T_inter ≥ per-UAV delay·⌈N/M⌉``; with
``k_i = cycles_i/f`` and ``R = Σ_i √k_i`` the time floor is at least ``max(R/M, max_i √k_i)²`` (summed eq 7;
``max(Σ k/M, max k)`` for max) and the satellite energy scale ``S/(α f³) = Σ_j K_j r_j⁴ ≥ R⁶/(M⁴ N)`` (eq15/sum:
Cauchy–Schwarz ``K_j ≥ r_j²/N_j``, then convexity and symmetry of ``r⁶/n``), ``Σ_j K_j³ ≥ (Σ k)³/M²``
(eq15/max, and eq14/sum whose energy at a time level is at least its equal-share, cap-dropped value) or the
constant ``Σ_i k_i³`` (eq14/max). The assignment part increases in all three, so its minimum over τ at these
values bounds every partition: the closed form of ``docs/design/scale-and-amortisation.md`` §2. Branching on
the assignment of the largest UAVs first and bounding each partial assignment the same way (the fixed UAVs'
groups exactly, the free UAVs by water-filling) gives node bounds; the minimum over the open nodes of a
truncated branch and bound (and the best leaf) is again certified, and tighter the more nodes it explores.

C6/C7: the bound is on the value the enumeration oracle returns, i.e. the optimum under C6/C7 when some
allocation meets them, else the unconstrained optimum (eq14/sum: always the unconstrained optimum). The
unconstrained bound is below both; the C6/C7-capped bound is used once a feasible allocation is known.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg_envs import SatGroundConfig

#: Nodes :func:`lower_bound` explores by default: enough to finish the search at N = 11 for M = 3..8 (measured).
LOWER_BOUND_NODES = 20_000


def lower_bound(
    config: SatGroundConfig,
    data_mb: ArrayLike,
    mu: float,
    *,
    node_limit: int = LOWER_BOUND_NODES,
    time_limit: float | None = None,
) -> float:
    """A certified lower bound on the optimum of problem (17) (module docstring).

    Covers every model variant (``energy_model`` ``"eq15"``/``"eq14"`` × ``train_aggregation``
    ``"sum"``/``"max"``). Like the oracle's search it neglects the ε of eq 7 and is lowered by the relative
    :data:`~sb3_ccddpg.solvers.branch_and_bound.EPSILON_MARGIN` to cover it.

    :param config: system parameters
    :param data_mb: D_i (MB), shape ``(N,)``
    :param mu: μ ∈ [0, 1]
    :param node_limit: nodes of the branch and bound (0: the closed form at the root, with the incumbent);
        when the search finishes within it, the bound is the optimum (less the margins)
    :param time_limit: also stop after about this many seconds (``None``: no limit)
    :return: a value never above the objective of the allocation the exact oracle returns
    """
    data = np.asarray(data_mb, dtype=np.float64)
    if data.shape != (config.n_uavs,) or not np.all(np.isfinite(data)) or np.any(data <= 0):
        raise ValueError(f"data_mb must be {config.n_uavs} finite positive sizes (MB), got shape {data.shape}")
    if not 0.0 <= mu <= 1.0:
        raise ValueError(f"mu must be in [0, 1], got {mu}")
    if node_limit < 0:
        raise ValueError(f"node_limit must be >= 0, got {node_limit}")
    return Oracle(config).solve(data, mu, node_limit=node_limit, time_limit=time_limit).lower_bound

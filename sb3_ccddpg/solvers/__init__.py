"""Solvers: methods that decide an allocation without learning (the exact oracle, the twin's search, baselines).

Every class here is an evaluation method (``name`` and ``allocate(data_mb, mu)``, see
:class:`~sb3_ccddpg.evaluation.AllocationMethod`) or a step that CC-DDPG's decision modes call.
"""

from sb3_ccddpg.solvers.baselines import EqualSplit, GeneticAlgorithm, RandomAlgorithm, SnakeDeal, snake_deal
from sb3_ccddpg.solvers.bounds import lower_bound
from sb3_ccddpg.solvers.branch_and_bound import Solution
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.solvers.robust import robust_allocation
from sb3_ccddpg.solvers.search import DECISIONS, DEFAULT_DECISION, SearchFromEqualSplit, TwinSearch, calibrate

__all__ = [
    "DECISIONS",
    "DEFAULT_DECISION",
    "EqualSplit",
    "GeneticAlgorithm",
    "Oracle",
    "RandomAlgorithm",
    "SearchFromEqualSplit",
    "SnakeDeal",
    "Solution",
    "TwinSearch",
    "calibrate",
    "lower_bound",
    "robust_allocation",
    "snake_deal",
]

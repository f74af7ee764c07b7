"""The constraint heads on every SB3 off-policy algorithm: CC-TD3, CC-SAC, and sb3-contrib's TQC and CrossQ.

CC-DDPG (:class:`~sb3_ccddpg.CCDDPG`) is the paper's algorithm; these put the same heads on the other
off-policy algorithms. Each is the library's algorithm with its arguments and defaults, a policy whose every
action is feasible by construction, the decision modes (``policy_kwargs={"decision": ...}``,
``set_decision``), ``env_config`` kept with the model, and ``<prefix>/alpha0`` and ``<prefix>/alpha_j/<j>``
scalars in TensorBoard.
"""

from sb3_ccddpg.algorithms.crossq import CCCrossQ, CCCrossQPolicy
from sb3_ccddpg.algorithms.sac import CCSAC, CCSACPolicy
from sb3_ccddpg.algorithms.td3 import CCTD3, CCTD3Policy
from sb3_ccddpg.algorithms.tqc import CCTQC, CCTQCPolicy

__all__ = ["CCSAC", "CCTD3", "CCTQC", "CCCrossQ", "CCCrossQPolicy", "CCSACPolicy", "CCTD3Policy", "CCTQCPolicy"]

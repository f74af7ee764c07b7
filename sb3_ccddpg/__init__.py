"""sb3-ccddpg: CC-DDPG for Stable-Baselines3 and the ``SatGround-v0`` environment.

Importing this package registers ``SatGround-v0`` with Gymnasium.
"""

import sb3_ccddpg_envs  # noqa: F401 (registers SatGround-v0)
from sb3_ccddpg.callbacks import SatGroundInfoCallback
from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.onnx_policy import OnnxPolicy, export_onnx
from sb3_ccddpg.policies import CCDDPGPolicy, ConstrainedActor
from sb3_ccddpg.set_policy import SetPolicy
from sb3_ccddpg.solvers.bounds import lower_bound

MlpPolicy = CCDDPGPolicy

__version__ = "0.1.0"

__all__ = [
    "CCDDPG",
    "CCDDPGPolicy",
    "ConstrainedActor",
    "MlpPolicy",
    "OnnxPolicy",
    "SatGroundInfoCallback",
    "SetPolicy",
    "__version__",
    "export_onnx",
    "lower_bound",
]

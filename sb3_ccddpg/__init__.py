"""sb3-ccddpg: CC-DDPG for Stable-Baselines3 and the ``SatGround-v0`` environment.

Importing this package registers ``SatGround-v0`` with Gymnasium.
"""

import sb3_ccddpg_envs  # noqa: F401 (registers SatGround-v0)

__version__ = "0.1.0"

__all__ = ["__version__"]

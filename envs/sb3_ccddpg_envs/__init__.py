"""The ``SatGround-v0`` environment: the paper's system model (spec ``system-model.md``) for Gymnasium.

Importing this package registers ``SatGround-v0``; ``import sb3_ccddpg`` imports it, so
``gym.make("sb3_ccddpg:SatGround-v0")`` works without a prior import.
"""

from gymnasium.envs.registration import register, registry

from sb3_ccddpg_envs.config import SatGroundConfig
from sb3_ccddpg_envs.cost import COST_KEYS, allocation_cost, delay_energy, reference_normalisers
from sb3_ccddpg_envs.decode import Allocation, action_size, canonical_action, encode, project, project_association
from sb3_ccddpg_envs.reference import equal_split, random_allocation
from sb3_ccddpg_envs.satground import SatGroundEnv, observe
from sb3_ccddpg_envs.twin import DigitalTwin, SatelliteTwin, UavTwin, has_twin_error, twin_view
from sb3_ccddpg_envs.wrappers import ConstraintPenaltyWrapper

ENV_ID = "SatGround-v0"

if ENV_ID not in registry:
    # No max_episode_steps: the env truncates itself after its configurable episode_length.
    register(id=ENV_ID, entry_point="sb3_ccddpg_envs.satground:SatGroundEnv")

__all__ = [
    "COST_KEYS",
    "ENV_ID",
    "Allocation",
    "ConstraintPenaltyWrapper",
    "DigitalTwin",
    "SatGroundConfig",
    "SatGroundEnv",
    "SatelliteTwin",
    "UavTwin",
    "action_size",
    "allocation_cost",
    "canonical_action",
    "delay_energy",
    "encode",
    "equal_split",
    "has_twin_error",
    "observe",
    "project",
    "project_association",
    "random_allocation",
    "reference_normalisers",
    "twin_view",
]

"""``SatGround-v0``: the Gymnasium environment around the pure system model."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from sb3_ccddpg_envs.config import SatGroundConfig
from sb3_ccddpg_envs.cost import allocation_cost
from sb3_ccddpg_envs.decode import action_size, project
from sb3_ccddpg_envs.twin import DigitalTwin, twin_view

#: Side of one cell of the ``rgb_array`` rendering (pixels).
RENDER_CELL_PX = 16


class SatGroundEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """Resource allocation in a digital-twin satellite-ground edge network (Li and Han, CC-DDPG paper).

    ## Description
    N UAVs upload training data to M LEO satellites, which train local models and aggregate them over a
    blockchain. Each time slot the agent decides, for every UAV, its number of OFDMA channels ξ_i, the
    satellite it offloads to φ_i and the share ρ_{j,i} of that satellite's CPU, to minimise
    ``(1−μ)·T_total/T_max + μ·E_total/E_max`` (paper eq 17). The model is ``../shared/spec/system-model.md``;
    the delay and energy terms are the pure functions of :mod:`sb3_ccddpg_envs.cost`.

    ## Action Space
    ``Box(-1, 1, (N + M·N,), float32)``, decoded by :func:`~sb3_ccddpg_envs.decode.project` (spec §6), so
    every action in the box is a feasible allocation:

    - index ``0 … N−1``: channel weights, ``|a_i|`` as fractions of ξ_total (rescaled if their sum exceeds 1);
    - index ``N + j·N + i``: CPU-share weight of satellite j for UAV i; each column's largest ``|a|`` picks φ_i.

    Values outside the box, NaN/inf or a wrong shape raise :class:`ValueError` and leave the state unchanged.

    ## Observation Space
    ``Box(0, 1, (N,), float32)``: ``D_i / D_max`` as the digital twin sees it (eq 18). With ``observe_mu``
    the shape is ``(N + 1,)`` and the last entry is μ.

    ## Rewards
    ``−objective − constraint_penalty·(#violated of C6, C7)``, clipped below at ``−reward_clip``. ``info``
    carries the unclipped objective and every delay/energy term (spec §10).

    ## Starting State
    D_i ~ U[data_mb_range] i.i.d. per UAV and slot, drawn from the env's seeded generator. With
    ``observe_mu``, μ ~ U[0, 1] per episode unless ``reset(options={"mu": value})`` fixes it.

    ## Episode End
    Never terminates; truncated after ``episode_length`` slots (handled by the env itself, so the length
    follows the config).

    ## Arguments
    Every field of :class:`~sb3_ccddpg_envs.config.SatGroundConfig` as a keyword argument, or a ready
    ``config``: ``gym.make("sb3_ccddpg:SatGround-v0", n_uavs=6, mu=0.3)``.

    ## Version History
    - v0: first version, spec ``system-model.md``.

    :param config: the full configuration; mutually exclusive with keyword fields
    :param render_mode: ``None``, ``"ansi"`` (a text table of the twin) or ``"rgb_array"`` (the last allocation
        as an image: one row of channel fractions above the M×N share matrix, brighter is more)
    :param fields: fields of :class:`SatGroundConfig`
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(self, config: SatGroundConfig | None = None, render_mode: str | None = None, **fields: Any) -> None:
        if config is not None and fields:
            raise ValueError(f"pass either config or keyword fields, not both (got {sorted(fields)})")
        unknown = sorted(set(fields) - set(SatGroundConfig.field_names()))
        if unknown:
            raise ValueError(f"unknown SatGround-v0 field(s) {unknown}; allowed: {list(SatGroundConfig.field_names())}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.config = config if config is not None else SatGroundConfig(**fields)
        self.render_mode = render_mode
        n_uavs, n_satellites = self.config.n_uavs, self.config.n_satellites
        self.action_space = spaces.Box(-1.0, 1.0, (action_size(n_uavs, n_satellites),), np.float32)
        self.observation_space = spaces.Box(0.0, 1.0, (n_uavs + int(self.config.observe_mu),), np.float32)
        self._mu = self.config.mu
        self._steps = 0
        self._data_mb = np.zeros(n_uavs)
        self._twin_data_mb = np.zeros(n_uavs)
        self._channels = np.zeros(n_uavs, dtype=np.int64)
        self._association = np.full(n_uavs, -1, dtype=np.int64)
        self._cpu_share = np.zeros((n_satellites, n_uavs))

    @property
    def mu(self) -> float:
        """μ the current episode is scored with."""
        return self._mu

    @property
    def data_mb(self) -> NDArray[np.float64]:
        """True D_i of the current slot (MB), a copy."""
        return self._data_mb.copy()

    @property
    def twin(self) -> DigitalTwin:
        """The digital twin: observed data sizes and the last decided channels and association."""
        return DigitalTwin.mirror(
            self._twin_data_mb,
            self._channels,
            self._association,
            self.config.uav_tx_power,
            self.config.cpu_frequency,
            self.config.n_satellites,
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start an episode: draw μ (with ``observe_mu``) and the first slot's data sizes.

        :param seed: seeds the env's generator
        :param options: ``{"mu": value}`` fixes μ ∈ [0, 1] for this episode
        :return: first observation and ``info`` with ``data_mb`` and ``mu``
        """
        super().reset(seed=seed)
        mu = (options or {}).get("mu")
        if mu is not None:
            if not np.isfinite(mu) or not 0.0 <= mu <= 1.0:
                raise ValueError(f"options['mu'] must be in [0, 1], got {mu!r}")
            self._mu = float(mu)
        elif self.config.observe_mu:
            self._mu = float(self.np_random.uniform(0.0, 1.0))
        else:
            self._mu = self.config.mu
        self._steps = 0
        # Fresh arrays, never in-place writes: the previous step's info shares the old ones.
        self._channels = np.zeros(self.config.n_uavs, dtype=np.int64)
        self._association = np.full(self.config.n_uavs, -1, dtype=np.int64)
        self._cpu_share = np.zeros((self.config.n_satellites, self.config.n_uavs))
        self._draw_slot()
        return self._observation(), {"data_mb": self._data_mb.copy(), "mu": np.float64(self._mu)}

    def step(self, action: NDArray[np.float32]) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Decode the action, score it on this slot's true data sizes, then draw the next slot.

        :param action: shape ``(N + M·N,)``, finite, within [-1, 1]
        :return: observation, reward, terminated (always False), truncated, info (spec §10)
        :raises ValueError: on a wrong shape, NaN/inf or values outside [-1, 1]; the state is unchanged
        """
        values = np.asarray(action, dtype=np.float64)
        if values.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise ValueError("action must be finite, got NaN or inf")
        if np.any(np.abs(values) > 1.0):
            raise ValueError(f"action values must lie in [-1, 1], got min {values.min()} and max {values.max()}")
        config = self.config
        allocation = project(values, config.n_uavs, config.n_satellites, config.channels_total)
        info = allocation_cost(config, self._data_mb, allocation, self._mu)
        violations = int(not info["C6_ok"]) + int(not info["C7_ok"])
        reward = -float(info["objective"]) - config.constraint_penalty * violations
        if config.reward_clip is not None:
            reward = max(reward, -config.reward_clip)
        self._channels = allocation.channels
        self._association = allocation.association
        self._cpu_share = allocation.cpu_share
        self._steps += 1
        self._draw_slot()
        truncated = self._steps >= config.episode_length
        return self._observation(), reward, False, truncated, info

    def render(self) -> str | NDArray[np.uint8] | None:
        """Show the twin: a text table (``"ansi"``) or an image of the last allocation (``"rgb_array"``).

        :return: the rendering for ``render_mode``, ``None`` without one
        """
        if self.render_mode == "ansi":
            rows = [f"slot {self._steps}, mu = {self._mu:.3f}", "uav  data_mb  channels  satellite"]
            rows += [
                f"{i:>3}  {uav.data_mb:7.1f}  {uav.n_channels:8d}  {uav.offload_target:9d}"
                for i, uav in enumerate(self.twin.uavs)
            ]
            return "\n".join(rows)
        if self.render_mode == "rgb_array":
            fractions = self._channels / self.config.channels_total
            grid = np.vstack([fractions, self._cpu_share])
            pixels = np.kron(np.round(255 * grid).astype(np.uint8), np.ones((RENDER_CELL_PX, RENDER_CELL_PX), np.uint8))
            return np.repeat(pixels[..., None], 3, axis=-1)
        return None

    def _draw_slot(self) -> None:
        low, high = self.config.data_mb_range
        self._data_mb = self.np_random.uniform(low, high, self.config.n_uavs)
        self._twin_data_mb = twin_view(self.config, self._data_mb, self.np_random)

    def _observation(self) -> NDArray[np.float32]:
        return observe(self.config, self._twin_data_mb, self._mu)


def observe(config: SatGroundConfig, data_mb: NDArray[np.float64], mu: float) -> NDArray[np.float32]:
    """The observation of data sizes as the env builds it: ``D_i / D_max``, then μ with ``observe_mu``.

    :param config: system parameters
    :param data_mb: D_i seen by the twin (MB), shape ``(..., N)``
    :param mu: μ of the episode
    :return: float32, shape ``(..., N)`` or ``(..., N + 1)``
    """
    observed = np.asarray(data_mb, dtype=np.float64) / config.data_mb_range[1]
    if config.observe_mu:
        observed = np.concatenate([observed, np.full((*observed.shape[:-1], 1), mu)], axis=-1)
    return observed.astype(np.float32)

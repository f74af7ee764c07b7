"""Callbacks that log ``SatGround-v0`` metrics from ``info`` (any algorithm, CC-DDPG or not)."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback


class SatGroundInfoCallback(BaseCallback):
    """Record the env's per-slot metrics as TensorBoard scalars, averaged between two log dumps.

    Keys: ``ccddpg/objective`` (eq 17, unclipped), ``ccddpg/T_total`` (s), ``ccddpg/E_total`` (J),
    ``ccddpg/C6_violation_rate`` and ``ccddpg/C7_violation_rate`` (fractions of slots). The learnable scales
    ``ccddpg/alpha0`` and ``ccddpg/alpha_j/<j>`` are recorded by :class:`~sb3_ccddpg.ccddpg.CCDDPG` itself.

    :param verbose: SB3 verbosity
    """

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "objective" not in info:
                continue
            self.logger.record_mean("ccddpg/objective", float(info["objective"]))
            self.logger.record_mean("ccddpg/T_total", float(info["T_total"]))
            self.logger.record_mean("ccddpg/E_total", float(info["E_total"]))
            self.logger.record_mean("ccddpg/C6_violation_rate", float(not info["C6_ok"]))
            self.logger.record_mean("ccddpg/C7_violation_rate", float(not info["C7_ok"]))
        return True

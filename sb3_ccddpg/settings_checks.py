"""Checks shared by the settings dataclasses of runs, figures and studies: one message format for bad values."""

from __future__ import annotations

import math
from typing import Any


def require_positive_integers(settings: Any, *names: str) -> None:
    """Raise ``ValueError`` naming the first field that is not an integer ≥ 1.

    :param settings: the settings object
    :param names: its fields to check
    """
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")


def require_timeout(timeout: float | None) -> None:
    """Raise ``ValueError`` unless ``timeout`` is ``None`` or a finite number of seconds > 0."""
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a finite number of seconds > 0 or None, got {timeout!r}")

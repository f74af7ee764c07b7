"""The continuous operations that map raw values onto the feasible set (spec §6, paper eqs 22–29).

Written once against the Python array API, so the same functions run on NumPy arrays (the environment's
decoder :func:`~sb3_ccddpg_envs.decode.project`) and on PyTorch tensors (the CC-DDPG actor's constraint heads),
where autograd differentiates them. Gradient behaviour in torch:

- :func:`rescale_sum` is differentiable everywhere (a division by the sum, or by 1 where the sum is not rescaled);
- :func:`keep_column_max` passes gradient to the kept (maximal) entry of each column; the dropped entries get
  zero gradient and the choice of the argmax itself has no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_torch_array

Array = Any  # a NumPy array or a PyTorch tensor


def _namespace(values: Array) -> Any:
    """NumPy itself for NumPy arrays (it implements the standard since 2.0, without the wrapper's overhead)."""
    return np if isinstance(values, np.ndarray) else array_namespace(values)


def rescale_sum(values: Array, above: float) -> Array:
    """Divide ``values`` by their sum over the last axis wherever that sum exceeds ``above``.

    ``above=0`` is the paper's normalisation (eqs 22 and 28; all-zero rows stay zero); ``above=1`` is the
    decoder's repair (spec §6 steps 1 and 4: sums ≤ 1 are kept as chosen).

    :param values: non-negative values, shape ``(..., K)``
    :param above: rescale only rows whose sum is strictly greater than this
    :return: values of the same shape whose rows sum to at most ``max(above, 1)``
    """
    xp = _namespace(values)
    total = xp.sum(values, axis=-1, keepdims=True)
    return values / xp.where(total > above, total, xp.ones_like(total))


def column_argmax(values: Array) -> Array:
    """Index of each column's largest entry, ties to the lowest row (paper eqs 26–27: φ).

    :param values: shape ``(..., M, N)``
    :return: integer indices, shape ``(..., N)``
    """
    if is_torch_array(values):
        # torch.argmax over a non-last dimension is ~15x slower than max(dim).indices, which returns the
        # first maximal index as well (the same tie rule).
        return values.max(dim=-2).indices
    return _namespace(values).argmax(values, axis=-2)


def keep_column_max(values: Array) -> Array:
    """Zero every entry but the largest of its column (paper eq 26: ρ_max).

    :param values: non-negative values, shape ``(..., M, N)``
    :return: same shape; each column keeps its largest entry (ties to the lowest row)
    """
    xp = _namespace(values)
    rows = xp.reshape(xp.arange(values.shape[-2], device=values.device), (-1, 1))
    keep = rows == xp.expand_dims(column_argmax(values), axis=-2)
    return values * xp.astype(keep, values.dtype)

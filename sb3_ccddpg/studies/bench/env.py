"""Environment benchmark: step time against Pendulum-v1, batched cost model against one-by-one evaluation.

Both ratios are measured in the same run, so they do not depend on the machine:

- env step time of ``SatGround-v0`` (N = 11) / env step time of Gymnasium's ``Pendulum-v1`` (target ≤ 1.5×);
- per-allocation throughput of one batched :func:`allocation_cost` call on 10 000 allocations at N = 11 /
  throughput of calling it once per allocation (target ≥ 100×).
"""

from __future__ import annotations

import argparse
import timeit

import gymnasium as gym
import numpy as np

import sb3_ccddpg  # noqa: F401 (registers SatGround-v0)
from sb3_ccddpg_envs import SatGroundConfig, allocation_cost, random_allocation


def seconds_per_step(env_id: str, n_steps: int, repeats: int) -> float:
    """Best-of-``repeats`` mean wall time of ``env.step`` on pre-sampled actions (resets excluded)."""
    env = gym.make(env_id)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(n_steps)]
    best = np.inf
    for _ in range(repeats):
        env.reset(seed=0)
        elapsed = 0.0
        for action in actions:
            start = timeit.default_timer()
            _, _, terminated, truncated, _ = env.step(action)
            elapsed += timeit.default_timer() - start
            if terminated or truncated:
                env.reset()
        best = min(best, elapsed / n_steps)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench env", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-steps", type=int, default=5000, help="env steps per timing")
    parser.add_argument("--batch", type=int, default=10_000, help="allocations in the batched cost call")
    parser.add_argument("--repeats", type=int, default=5, help="timings per measurement; the best is kept")
    args = parser.parse_args(argv)

    satground = seconds_per_step("SatGround-v0", args.n_steps, args.repeats)
    pendulum = seconds_per_step("Pendulum-v1", args.n_steps, args.repeats)
    print(
        f"env step: SatGround-v0 {1e6 * satground:.1f} us, Pendulum-v1 {1e6 * pendulum:.1f} us, "
        f"ratio {satground / pendulum:.2f}x (target <= 1.5x)"
    )

    config = SatGroundConfig()
    rng = np.random.default_rng(0)
    data = rng.uniform(*config.data_mb_range, (args.batch, config.n_uavs))
    allocations = random_allocation(config, rng, args.batch)
    batched = min(timeit.repeat(lambda: allocation_cost(config, data, allocations), number=1, repeat=args.repeats))
    n_single = min(args.batch, 2000)
    single = min(
        timeit.repeat(
            lambda: [allocation_cost(config, data[k], allocations[k]) for k in range(n_single)], number=1, repeat=args.repeats
        )
    )
    speedup = (single / n_single) / (batched / args.batch)
    print(
        f"cost model, N = {config.n_uavs}: batched {1e6 * batched / args.batch:.2f} us/allocation "
        f"(batch {args.batch}), one by one {1e6 * single / n_single:.1f} us/allocation, "
        f"ratio {speedup:.0f}x (target >= 100x)"
    )

"""CC-DDPG benchmark: training speed against SB3's DDPG, and quality at N = 11, μ = 0.5.

Printed in one run:

- training steps/s of CC-DDPG as a ratio to SB3 ``DDPG("MlpPolicy")`` on the same env, budget and settings
  (γ, learning rate, batch, buffer, noise and a [256, 256] network for both; target ≥ 0.9×), and of CC-DDPG with
  the size-independent ``SetPolicy`` trained by expert iteration, with and without the critic
  (:data:`SET_TRAININGS`);
- the paper's variant's (its actor alone) mean objective on 1000 held-out states after each checkpoint budget (default
  20 000 and 50 000 steps), as ratios to the equal split and to RA.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from stable_baselines3 import DDPG
from stable_baselines3.common.noise import NormalActionNoise

from sb3_ccddpg import CCDDPG
from sb3_ccddpg.evaluation import PolicyMethod, evaluate
from sb3_ccddpg.solvers.baselines import EqualSplit, RandomAlgorithm
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv, action_size

#: The benchmark measures the paper's variant: its actor decides alone.
PAPER: dict[str, Any] = {"decision": "actor"}
#: The set policy's trainings whose speed is measured beside the paper's.
SET_TRAININGS: dict[str, dict[str, Any]] = {
    "SetPolicy, expert iteration": {"imitation_weight": 1.0, "critic_gradient": False},
    "SetPolicy, expert iteration + critic": {"imitation_weight": 1.0},
}


def steps_per_second(model: DDPG, steps: int) -> float:
    """Wall-clock training throughput of ``model.learn(steps)``, warm-up included."""
    start = time.perf_counter()
    model.learn(steps)
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench ccddpg", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed-steps", type=int, default=2000, help="training steps of each speed measurement")
    parser.add_argument("--speed-repeats", type=int, default=3, help="interleaved speed measurements; the best is kept")
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[20_000, 50_000], help="quality budgets")
    parser.add_argument("--n-states", type=int, default=1000, help="held-out states of each evaluation")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--quick", action="store_true", help="tiny budgets, a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.speed_steps, args.speed_repeats, args.checkpoints, args.n_states = 500, 1, [1000], 100

    config = SatGroundConfig()
    dimension = action_size(config.n_uavs, config.n_satellites)
    shared: dict[str, Any] = {
        "learning_rate": 1e-3,
        "buffer_size": 100_000,
        "learning_starts": 200,
        "batch_size": 128,
        "gamma": 0.0,
    }
    fast_ddpg, fast_ccddpg = 0.0, 0.0
    fast_set = dict.fromkeys(SET_TRAININGS, 0.0)
    for _ in range(args.speed_repeats):  # interleaved, so that a slow spell of the machine hits both
        ddpg = DDPG(
            "MlpPolicy",
            SatGroundEnv(config),
            action_noise=NormalActionNoise(np.zeros(dimension), np.full(dimension, 0.05)),
            policy_kwargs={"net_arch": [256, 256]},
            seed=args.seed,
            **shared,
        )
        fast_ddpg = max(fast_ddpg, steps_per_second(ddpg, args.speed_steps))
        ccddpg = CCDDPG("CCDDPGPolicy", SatGroundEnv(config), seed=args.seed, policy_kwargs=PAPER, **shared)
        fast_ccddpg = max(fast_ccddpg, steps_per_second(ccddpg, args.speed_steps))
        for name, training in SET_TRAININGS.items():
            model = CCDDPG("SetPolicy", SatGroundEnv(config), seed=args.seed, policy_kwargs=PAPER, **shared, **training)
            fast_set[name] = max(fast_set[name], steps_per_second(model, args.speed_steps))
    print(
        f"training speed, N = {config.n_uavs}: CC-DDPG {fast_ccddpg:.0f} steps/s, DDPG(MlpPolicy) {fast_ddpg:.0f} steps/s, "
        f"ratio {fast_ccddpg / fast_ddpg:.2f}x (target >= 0.9x)",
        flush=True,
    )
    for name, speed in fast_set.items():
        print(f"  CC-DDPG ({name}): {speed:.0f} steps/s, ratio to DDPG(MlpPolicy) {speed / fast_ddpg:.2f}x", flush=True)

    held_out = {"n_states": args.n_states, "seed": 1_000_000}
    equal = evaluate(EqualSplit(config), config, **held_out)["objective"].mean()
    random = evaluate(RandomAlgorithm(config, args.seed), config, **held_out)["objective"].mean()
    print(f"held-out mean objective: equal split {equal:.4f}, RA {random:.4f}", flush=True)
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(config), seed=args.seed, policy_kwargs=PAPER)
    for budget in sorted(args.checkpoints):
        start = time.perf_counter()
        model.learn(budget - model.num_timesteps, reset_num_timesteps=False, progress_bar=True)
        elapsed = time.perf_counter() - start
        learned = evaluate(PolicyMethod(model, config, "CC-DDPG (paper)"), config, **held_out)["objective"].mean()
        print(
            f"CC-DDPG (paper) after {model.num_timesteps} steps: objective {learned:.4f}, ratio to equal split "
            f"{learned / equal:.3f}, to RA {learned / random:.3f} (this stretch trained in {elapsed:.0f} s)",
            flush=True,
        )

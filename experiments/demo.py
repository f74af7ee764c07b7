"""The main job on the default configuration (``make demo``): evaluate the baselines at N = 11, μ = 0.5.

Scores equal split and RA on 1000 seeded held-out states and prints mean objective, delay, energy, C6/C7
violation rates and decision time per state.
"""

from __future__ import annotations

import argparse

from sb3_ccddpg.baselines import EqualSplit, RandomAlgorithm
from sb3_ccddpg.evaluation import AllocationMethod, evaluate, summarize
from sb3_ccddpg.reporting import print_summary
from sb3_ccddpg_envs import SatGroundConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-states", type=int, default=1000, help="number of held-out states")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out states")
    args = parser.parse_args()
    config = SatGroundConfig()
    methods: list[AllocationMethod] = [EqualSplit(config), RandomAlgorithm(config, seed=args.seed)]
    frames = [evaluate(method, config, args.n_states, args.seed, progress=True) for method in methods]
    print_summary(
        summarize(frames, reference="equal split"),
        f"SatGround-v0, N = {config.n_uavs}, M = {config.n_satellites}, mu = {config.mu}, {args.n_states} held-out states",
    )


if __name__ == "__main__":
    main()

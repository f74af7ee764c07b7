"""Compare every method at one N and μ on the same held-out states: oracle, equal split, RA, GA and the agents.

Writes ``states.csv``, ``summary.csv``, ``summary.md`` and ``settings.json`` into ``--output``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sb3_ccddpg.agents import AGENT_LABELS
from sb3_ccddpg.compare import CompareSettings, compare
from sb3_ccddpg.reporting import print_summary


def main() -> None:
    defaults = CompareSettings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-uavs", type=int, default=defaults.n_uavs, help="N, number of UAVs")
    parser.add_argument("--mu", type=float, default=defaults.mu, help="μ, weight of energy in [0, 1]")
    parser.add_argument("--n-states", type=int, default=defaults.n_states, help="held-out states")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of training and held-out states")
    parser.add_argument("--agents", nargs="*", default=list(defaults.agents), choices=sorted(AGENT_LABELS), help="agents")
    parser.add_argument("--train-steps", type=int, default=defaults.train_steps, help="training steps per agent")
    parser.add_argument("--ga-budgets", type=int, nargs="*", default=list(defaults.ga_budgets), help="GA evaluations")
    parser.add_argument("--output", type=Path, default=Path("results/compare"), help="result folder")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: 50 states, 1000 steps, GA 500 evaluations")
    args = parser.parse_args()
    if args.quick:
        args.n_states, args.train_steps, args.ga_budgets = 50, 1000, [500]
    settings = CompareSettings(
        n_uavs=args.n_uavs,
        mu=args.mu,
        n_states=args.n_states,
        seed=args.seed,
        agents=tuple(args.agents),
        train_steps=args.train_steps,
        ga_budgets=tuple(args.ga_budgets),
    )
    table = compare(settings, args.output)
    print_summary(table, f"N = {settings.n_uavs}, mu = {settings.mu}, {settings.n_states} held-out states (gap to oracle)")
    print(f"results in {args.output}")


if __name__ == "__main__":
    main()

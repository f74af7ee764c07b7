"""Decision-cost benchmark: where the exact optimum is cheaper than the default descent, the choice of ``"auto"``.

For each size (N, M) it runs :func:`~sb3_ccddpg.solvers.search.calibrate` — the measurement the ``"auto"``
decision mode makes when it is set — on more states than ``"auto"`` uses, and prints a markdown table: the
exact solver's and the default descent's (:data:`~sb3_ccddpg.solvers.search.DEFAULT_DECISION`) mean time per
state (the same states, one run, so the ratio does not depend on the machine), the ratio, and the mode
``"auto"`` would choose. Beyond the enumeration the branch and bound gets each state's descent time as its
limit; ``∞`` means it did not prove a state optimal within it. ξ_total is max(32, 3N) and the normalisers are
the configuration's own N (spec §5a), as in ``bench scale``.
"""

from __future__ import annotations

import argparse

from sb3_ccddpg.solvers.search import DEFAULT_DECISION, calibrate
from sb3_ccddpg_envs import SatGroundConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench decisions", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-uavs", type=int, nargs="+", default=[3, 4, 6, 8, 11, 16], help="N values")
    parser.add_argument("--n-satellites", type=int, nargs="+", default=[2, 3, 4, 5, 8], help="M values")
    parser.add_argument("--mu", type=float, default=0.5, help="μ")
    parser.add_argument("--n-states", type=int, default=50, help="states timed per size")
    args = parser.parse_args(argv)
    if args.n_states < 1:
        parser.error(f"--n-states must be ≥ 1, got {args.n_states}")

    print(f"μ = {args.mu:g}, {args.n_states} states per size, ξ_total = max(32, 3N), own-N normalisers\n")
    print(f"| N | M | exact (ms) | {DEFAULT_DECISION} (ms) | exact / descent | auto chooses |\n|---|---|---|---|---|---|")
    for n_uavs in args.n_uavs:
        for n_satellites in args.n_satellites:
            config = SatGroundConfig(
                n_uavs=n_uavs,
                n_satellites=n_satellites,
                channels_total=max(32, 3 * n_uavs),
                reference_n_uavs=None,
                mu=args.mu,
            )
            result = calibrate(config, args.n_states)
            exact = f"{result.exact_ms:.2f}" if result.exact_ms < float("inf") else "∞"
            ratio = f"{result.exact_ms / result.descent_ms:.2f}" if result.exact_ms < float("inf") else "∞"
            print(
                f"| {n_uavs} | {n_satellites} | {exact} | {result.descent_ms:.2f} | {ratio} | {result.decision} |", flush=True
            )

"""Thread benchmark: CC-DDPG's training steps/s for each torch thread count, alone and beside a busy process.

``torch`` starts as many intra-op threads as the machine has cores. The networks here are small (a
[256, 256] trunk, batches of 128), so extra threads buy little, and when another process keeps a core busy
(a second training run, a benchmark, a test suite) the threads contend with it for the cores. This
benchmark measures that in one run, so the ratios do not depend on the machine: for each thread count it
times ``learn`` of the paper's training at N = 11, first alone, then while a second process spins on one
core (a NumPy loop on one thread, the load a second training run puts on a core). It prints steps/s and
the ratio to one thread in the same condition; the command line's ``--threads`` default follows it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from multiprocessing.synchronize import Event

import numpy as np
import torch as th

from sb3_ccddpg.ccddpg import CCDDPG
from sb3_ccddpg.studies.bench.ccddpg import PAPER, steps_per_second
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv


def _spin(stop: Event) -> None:
    """Keep one core busy until ``stop`` is set (a stand-in for a second training run)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    matrix = np.random.default_rng(0).standard_normal((200, 200))
    while not stop.is_set():
        matrix = np.tanh(matrix @ matrix.T / 200.0)


def training_speed(threads: int, steps: int, seed: int) -> float:
    """Steps/s of ``learn(steps)`` for the paper's CC-DDPG at N = 11 with ``threads`` torch threads.

    :param threads: torch intra-op threads, ≥ 1
    :param steps: training steps (the first 200 are warm-up, as in training)
    :param seed: seed of the agent
    :return: steps per second of wall time
    """
    th.set_num_threads(threads)
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(SatGroundConfig()), seed=seed, policy_kwargs=PAPER)
    return steps_per_second(model, steps)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sb3-ccddpg bench threads", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to measure")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of each measurement")
    parser.add_argument("--seed", type=int, default=0, help="seed of the agent")
    parser.add_argument("--quick", action="store_true", help="400 steps, a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = 400
    if any(threads < 1 for threads in args.threads):
        parser.error(f"--threads must be integers ≥ 1, got {args.threads}")

    print(f"CC-DDPG training at N = 11, {args.steps} steps per measurement, {os.cpu_count()} cores")
    context = multiprocessing.get_context("spawn")
    for condition in ("alone", "beside a busy process"):
        stop = context.Event()
        neighbour = None
        if condition != "alone":
            neighbour = context.Process(target=_spin, args=(stop,), daemon=True)
            neighbour.start()
        try:
            speeds = {threads: training_speed(threads, args.steps, args.seed) for threads in args.threads}
        finally:
            stop.set()
            if neighbour is not None:
                neighbour.join()
        reference = speeds[min(speeds)]
        for threads, speed in speeds.items():
            print(f"  {condition}: {threads} thread(s) {speed:.0f} steps/s, {speed / reference:.2f}x the fewest threads")

"""The main job on the default configuration (``make demo``).

Trains CC-DDPG on ``SatGround-v0`` at N = 11, μ = 0.5 (with a progress bar and TensorBoard logs), saves it,
then evaluates it (its default decision, and its actor alone as in the paper), the exact optimum, equal split
and RA on 1000 seeded held-out states and prints mean objective, delay, energy, C6/C7 violation rates and
decision time per state.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sb3_ccddpg import CCDDPG, SatGroundInfoCallback
from sb3_ccddpg.agents import AGENT_LABELS
from sb3_ccddpg.evaluation import AllocationMethod, PolicyMethod, evaluate, summarize
from sb3_ccddpg.solvers.baselines import EqualSplit, RandomAlgorithm
from sb3_ccddpg.solvers.oracle import Oracle
from sb3_ccddpg.studies.reporting import print_summary
from sb3_ccddpg_envs import SatGroundConfig, SatGroundEnv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=15_000, help="training steps of CC-DDPG")
    parser.add_argument("--n-states", type=int, default=1000, help="number of held-out states")
    parser.add_argument("--seed", type=int, default=0, help="seed of training and of the held-out states")
    parser.add_argument("--output", type=Path, default=Path("runs/demo"), help="folder for the model and logs")
    args = parser.parse_args()

    config = SatGroundConfig()
    model = CCDDPG("CCDDPGPolicy", SatGroundEnv(config), tensorboard_log=str(args.output / "tensorboard"), seed=args.seed)
    model.learn(args.steps, callback=SatGroundInfoCallback(), progress_bar=True)
    model_path = args.output / "ccddpg_satground.zip"
    model.save(model_path)

    held_out_seed = 1_000_000 + args.seed  # never the training seed's states
    held_out = {"n_states": args.n_states, "seed": held_out_seed, "progress": True}
    label = f"{AGENT_LABELS['ccddpg']}, {args.steps} steps"
    frames = [evaluate(PolicyMethod(model, config, label), config, **held_out)]
    model.set_decision("actor")  # the same trained model, its actor deciding alone
    frames.append(evaluate(PolicyMethod(model, config, "its actor alone (paper)"), config, **held_out))
    baselines: list[AllocationMethod] = [Oracle(config), EqualSplit(config), RandomAlgorithm(config, seed=args.seed)]
    frames += [evaluate(method, config, **held_out) for method in baselines]
    print_summary(
        summarize(frames, reference="oracle"),
        f"SatGround-v0, N = {config.n_uavs}, M = {config.n_satellites}, mu = {config.mu}, "
        f"{args.n_states} held-out states (gap relative to the exact optimum)",
    )
    print(f"model saved to {model_path}; TensorBoard: tensorboard --logdir {args.output / 'tensorboard'}")


if __name__ == "__main__":
    main()

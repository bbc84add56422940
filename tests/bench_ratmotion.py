"""Benchmark: agent-steps per second of our vectorised rat motion model vs RatInABox.

Run: ``PYTHONPATH=src python tests/bench_ratmotion.py [--agents 200 --steps 2000 --rib-steps 4000]``.
Prints both rates and their ratio (ours / RatInABox). Not collected by pytest.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ratinabox_compare import run_ours, run_ratinabox  # noqa: E402

from rnnreplay.tasks.ratmotion import RatMotionParams  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rib-steps", type=int, default=4000)
    args = parser.parse_args()
    params = RatMotionParams()
    *_, rib = run_ratinabox(1, args.rib_steps, params)
    *_, ours = run_ours(args.agents, args.steps, params)
    print(f"RatInABox: {rib:,.0f} agent-steps/s (1 agent, {args.rib_steps} steps)")
    print(f"rnnreplay: {ours:,.0f} agent-steps/s ({args.agents} agents x {args.steps} steps)")
    print(f"ratio ours / RatInABox: {ours / rib:,.0f}x")


if __name__ == "__main__":
    main()

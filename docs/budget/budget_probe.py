"""Does a longer training budget bring the loss to a plateau? One seed of each trained (task,
variant) of config.yaml, trained at MULT x its task's budget (Adam steps, warmup and curriculum
stages scaled; the cosine schedule stretched over them), on the training pools of a finished
default run; prints one JSON line per network: the plateau criterion's fall over the last fifth
(rnnreplay.learning.loss_plateaued), the final loss (mean of the last tenth) and the learning
gate's error ratios on the held-out paths (rnnreplay.learning.summary).

    python docs/budget/budget_probe.py --results RUN/results --mult 4 [--seed 0] [task/variant ...]

docs/budget/probe_seed0.jsonl is its output at --mult 2 (every network) and 4 (six of them), on a
default run at commit 9494d70 (docs/methods.md#convergence). One core each.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
import xarray as xr

from rnnreplay import config as rc
from rnnreplay import config_files as rcf
from rnnreplay.learning import loss_plateaued, summary
from rnnreplay.replay import load_for_replay, run_active
from rnnreplay.train import train

ROOT = Path(__file__).resolve().parents[2]


def scaled(config: dict, task: str, mult: float) -> dict:
    """``config`` with ``task``'s training budget (steps, warmup, curriculum stages) x ``mult``."""
    config = copy.deepcopy(config)
    settings = config["tasks"][task]["train"]
    settings["steps"] = int(round(settings["steps"] * mult))
    if "lr_warmup" in settings:
        settings["lr_warmup"] = int(round(settings["lr_warmup"] * mult))
    settings["curriculum"] = [[int(round(steps * mult)), length] for steps, length in settings.get("curriculum", [])]
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True, help="a finished default run's results/ (its data pools)")
    parser.add_argument("--mult", type=float, required=True, help="budget multiplier")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("only", nargs="*", help="task/variant pairs (default: every trained one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = rcf.load_yaml(ROOT / "config.yaml")
    for task in base["tasks"]:
        for variant in rc.task_trained_variants(base, task):
            if args.only and f"{task}/{variant}" not in args.only:
                continue
            job = rc.train_job(scaled(base, task, args.mult), task, variant, args.seed)
            data = Path(args.results) / "data" / task
            pool = xr.open_dataset(data / f"train_seed{args.seed}.nc")["position"].values
            test = xr.open_dataset(data / "test.nc")["position"].values
            start = time.time()
            model, loss = train(job, pool, log=lambda _: None)
            seconds = time.time() - start
            loss = loss["loss"].values
            plateaued, fall = loss_plateaued(loss)
            built = job.task.build()
            decoded = run_active(load_for_replay(model.state_dict(), built, job.cell), built, test, job.mechanisms,
                                 job.seed_parts)
            gate = summary(built, decoded, test)
            print(json.dumps(dict(task=task, variant=variant, seed=args.seed, mult=args.mult, steps=len(loss),
                                  fall=fall, plateaued=plateaued, final=float(loss[-len(loss) // 10:].mean()),
                                  pi_ratio=gate["pi_ratio"], pi_ratio_last=gate["pi_ratio_last"], secs=seconds)),
                  flush=True)


if __name__ == "__main__":
    main()

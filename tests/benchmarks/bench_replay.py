"""Replay at KR24's scale: 200 trajectories x 1000 steps, 512 units, a 512-output readout.

Two rows per cell variant: the network alone (``NoisyRNN`` under ``torch.inference_mode``, the
readout of every step included) and ``rnnreplay.replay.sample_replay`` end to end (plus decoding,
hidden-state subsampling), the latter on a synthetic place-cell task whose decoder is the argmax
centre. The replay file's size is measured by writing it as the workflow does.

FLOPs (honest count of the dense products): T (2BN^2 + 2BNC) + 2BCN (encoder).

    python tests/benchmarks/bench_replay.py [--threads 1] [--repeats 3] [--out DIR]
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import common
import numpy as np
import torch

from rnnreplay.io import write_dataset
from rnnreplay.model import CellParams, NoisyRNN
from rnnreplay.jobs import ReplaySettings
from rnnreplay.replay import replay_dataset, sample_replay
from rnnreplay.tasks import Task

VARIANTS = {
    "leak": dict(leak=0.2, sigma=0.01),
    "leak_adapt_mom": dict(leak=0.2, adapt_strength=0.3, friction=0.6, sigma=0.01),
}


class PlaceCode(Task):
    """A synthetic place-cell code in a 2.2 m box (benchmark only): Gaussian fields, argmax decode."""

    name = "placecode"
    length_unit = "m"

    def __init__(self, cells: int, seed: int = 0):
        self.centres = np.random.default_rng(seed).uniform(-1.1, 1.1, (cells, 2)).astype(np.float32)

    @property
    def code_dim(self) -> int:
        return len(self.centres)

    def encode(self, position):
        d2 = ((np.asarray(position, np.float32)[..., None, :] - self.centres) ** 2).sum(-1)
        return np.exp(-d2 / (2 * 0.2**2)).astype(np.float32)

    def decode(self, code):
        return self.centres[np.argmax(code, axis=-1)]


def replay_flops(batch, steps, hidden, cells) -> float:
    return steps * (2 * batch * hidden * hidden + 2 * batch * hidden * cells) + 2 * batch * cells * hidden


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--hidden-every", type=int, default=10, help="replay.hidden_every for the file-size row")
    args = p.parse_args()
    common.setup(args)
    batch, steps, hidden, cells = (200, 1000, 512, 512) if not args.quick else (50, 100, 128, 64)
    task = PlaceCode(cells)
    starts = np.random.default_rng(1).uniform(-1, 1, (batch, 2)).astype(np.float32)
    start_code = torch.from_numpy(task.encode(starts))
    flops = replay_flops(batch, steps, hidden, cells)
    cfg = ReplaySettings(trajectories=batch, steps=steps, noise_multiplier=2**0.5, hidden_every=args.hidden_every)
    rows = []
    for name, knobs in VARIANTS.items():
        torch.manual_seed(0)
        model = NoisyRNN(n_in=2, n_out=cells, params=CellParams(hidden=hidden, **knobs)).eval()

        def network():
            with torch.inference_mode():
                return model(None, start_code, steps=steps, noise_multiplier=2**0.5,
                             generator=torch.Generator().manual_seed(2), return_hidden=True)

        def end_to_end():
            return sample_replay(model, task, starts, cfg, ("bench", 0))

        for label, fn in (("network", network), ("sample_replay", end_to_end)):
            # The first call also faults in the heap it grows (a one-shot replay job pays this once;
            # how much varies with what the process freed before): timed apart from the repeats.
            first = common.time_it(fn, 1, warmup=0)[0]
            times, gemm = common.bracket_gemm(lambda: common.time_it(fn, args.repeats, warmup=0))
            t = statistics.median(times)
            rows.append({"stage": "replay", "variant": name, "part": label,
                         "shape": f"B{batch} T{steps} N{hidden} C{cells}", "seconds": t, "seconds_min": min(times),
                         "first_call_s": first,
                         "gflops": flops / t / 1e9, **gemm, "fraction_of_gemm": flops / t / 1e9 / gemm["gemm_gflops"],
                         "peak_rss_mb": common.peak_rss_mb()})
        result = end_to_end()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "replay.nc"
            write_dataset(replay_dataset(result, task, {"Conventions": "CF-1.8"}), path)
            rows[-1]["file_mb"] = path.stat().st_size / 1e6
            rows[-1]["hidden_every"] = args.hidden_every
        del result
    common.report("replay", rows, args, ["variant", "part", "shape", "seconds", "seconds_min", "first_call_s",
                                         "gflops", "gemm_gflops",
                                         "fraction_of_gemm", "peak_rss_mb", "file_mb", "hidden_every"])


if __name__ == "__main__":
    main()

"""Training step at KR24's shapes: 512 units, batch 200, 100 steps per sequence, 512 outputs.

The current tasks are 2-D, so the targets here are a synthetic place-cell code (512 Gaussian
fields, softmax-normalised as in KR24's open field) of smooth random walks in a 2.2 m box. One
timed step is what `rnnreplay.train.train` does per optimiser step after the batch is built:
forward, MSE loss, backward, gradient clipping, Adam.

FLOPs per step (honest count of the dense products): forward = T (2BN^2 + 2BNC + 2BDN) + 2BCN
(encoder); backward ~ 2 x forward; total ~ 3 x forward.

Two more rows profile a step at the default config's small shapes (128 units, batch 64, 60-step
sequences; a 2-D code as in the mazes, and a 128-cell code as in the open field and rat tasks),
split into forward (with the graph), backward, clipping + Adam, and the noise draw alone: where
the default workflow's training time goes (docs/performance.md). They have no goal.

The last rows time, side by side in one run, a training step of one network and the per-member
step of a 5-member ensemble (the seeds of one variant trained together), at the default shapes.

    python tests/benchmarks/bench_train.py [--threads 1] [--repeats 3] [--out DIR]
"""

from __future__ import annotations

import statistics
import time

import common
import numpy as np
import torch

from rnnreplay.model import CellParams, NoisyRNN

VARIANTS = {  # name: (cell knobs (docs/methods.md#the-model; sigma 0.01 at 512 units [KR24]), loss form)
    "leak": (dict(leak=0.2, sigma=0.01), "mse_loss"),  # F.mse_loss, as rnnreplay.train.train
    "leak_adapt_mom": (dict(leak=0.2, adapt_strength=0.3, friction=0.6, sigma=0.01), "mse_loss"),
    # the loss as first written, torch.mean((outputs - targets) ** 2): the same number in more
    # elementwise passes; this row shows what the fused F.mse_loss saves.
    "leak, mean of squares": (dict(leak=0.2, sigma=0.01), "mean_sq"),
}


def place_code_batch(batch: int, steps: int, cells: int, seed: int = 0):
    """Inputs (B, T, 2), targets (B, T, C) and start codes (B, C) of a place-cell code."""
    rng = np.random.default_rng(seed)
    vel = 0.02 * rng.standard_normal((batch, steps, 2)).cumsum(1) / np.sqrt(np.arange(1, steps + 1))[:, None]
    pos = np.concatenate([rng.uniform(-1.1, 1.1, (batch, 1, 2)), vel], 1).cumsum(1)
    pos = np.clip(pos, -1.1, 1.1)
    centres = rng.uniform(-1.1, 1.1, (cells, 2))
    d2 = ((pos[..., None, :] - centres) ** 2).sum(-1)
    logits = -d2 / (2 * 0.2**2)
    code = np.exp(logits - logits.max(-1, keepdims=True))
    code /= code.sum(-1, keepdims=True)
    f = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))  # noqa: E731
    return f(np.diff(pos, axis=1)), f(code[:, 1:]), f(code[:, 0])


def train_flops(batch, steps, hidden, n_in, n_out) -> float:
    forward = steps * (2 * batch * hidden * hidden + 2 * batch * hidden * n_out + 2 * batch * n_in * hidden)
    forward += 2 * batch * n_out * hidden
    return 3.0 * forward


def default_shape_rows(args) -> list[dict]:
    """One `leak` training step at the default config's shapes, split into its parts."""
    batch, steps, hidden = 64, 60, 128
    rows = []
    for cells in (2, 128):
        inputs, targets, start = place_code_batch(batch, steps, cells)
        torch.manual_seed(0)
        model = NoisyRNN(n_in=2, n_out=cells, params=CellParams(hidden=hidden, leak=0.2, sigma=0.03))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(1)
        n = 50 if not args.quick else 5

        def parts() -> tuple[float, float, float]:
            t0 = time.perf_counter()
            loss = torch.nn.functional.mse_loss(model(inputs, start, generator=gen), targets)
            t1 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            loss.item()
            return t1 - t0, t2 - t1, time.perf_counter() - t2

        for _ in range(5):
            parts()
        splits, gemm = common.bracket_gemm(lambda: [parts() for _ in range(n)])
        forward, backward, optimiser = (statistics.median(x) for x in zip(*splits))
        noise = statistics.median(common.time_it(lambda: torch.randn((steps, batch, hidden), generator=gen), n))
        t = forward + backward + optimiser
        flops = train_flops(batch, steps, hidden, 2, cells)
        rows.append({
            "stage": "train_step_default_shape", "variant": "leak", "shape": f"N{hidden} B{batch} T{steps} C{cells}",
            "seconds": t, "forward_s": forward, "backward_s": backward, "optimiser_s": optimiser, "noise_s": noise,
            "gemm_s": flops / (gemm["gemm_gflops"] * 1e9), "gflop": flops / 1e9, "gflops": flops / t / 1e9, **gemm,
            "fraction_of_gemm": flops / t / 1e9 / gemm["gemm_gflops"], "peak_rss_mb": common.peak_rss_mb(),
        })
    return rows


def ensemble_rows(args) -> list[dict]:
    """The default config's shapes (128 units, batch 64, 60-step sequences, a 2-D code as in the
    mazes): a training step of one network and of a 5-member ensemble (the seeds of one variant,
    side by side), side by side in one run; per-member time = ensemble step / 5. Two measures:
    the network step (forward, loss, backward, clipping, Adam) and ``train_ensemble`` end to end
    on the T-maze (batches drawn and encoded per member, as the workflow trains)."""
    from rnnreplay.jobs import Mechanisms, TaskSetup, TrainJob, TrainSettings
    from rnnreplay.train import train_ensemble

    batch, steps, hidden, cells, size = 64, 60, 128, 2, 5
    n = 40 if not args.quick else 4
    inputs, targets, start = place_code_batch(batch, steps, cells)
    rows = []

    def network_step(members: int):
        torch.manual_seed(0)
        nets = [NoisyRNN(n_in=2, n_out=cells, params=CellParams(hidden=hidden, leak=0.2, sigma=0.03))
                for _ in range(members)]
        gens = [torch.Generator().manual_seed(s) for s in range(members)]
        step = common.ensemble_step(nets, inputs, targets, start, gens)
        return lambda: [loss.item() for loss in step()]

    task = TaskSetup("tmaze", "tmaze", {"returns": True})
    pools = [task.build().sample_positions(512, steps, np.random.default_rng(s)) for s in range(size)]

    def end_to_end(members: int):
        jobs = [TrainJob(task, "leak", s, CellParams(hidden=hidden, leak=0.2, sigma=0.03), Mechanisms(),
                         TrainSettings(steps=n, batch=batch)) for s in range(members)]
        return lambda: train_ensemble(jobs, pools[:members], log=lambda m: None)

    for label, make, per_call in (("network step", network_step, 1), ("train_ensemble, T-maze", end_to_end, n)):
        fns = {m: make(m) for m in (1, size)}
        for fn in fns.values():
            fn()  # warm-up
        reps = n if per_call == 1 else args.repeats

        def interleaved():  # single and ensemble alternate, so a load change hits both alike
            times = {m: [] for m in fns}
            for _ in range(reps):
                for m, fn in fns.items():
                    times[m] += common.time_it(fn, 1, warmup=0)
            return times

        timed, gemm = common.bracket_gemm(interleaved)
        single = statistics.median(timed[1]) / per_call
        member = statistics.median(timed[size]) / per_call / size
        flops = train_flops(batch, steps, hidden, 2, cells)
        for members, t in ((1, single), (size, member)):
            rows.append({
                "stage": "train_step_ensemble", "variant": f"leak, {label}, {members} member(s)",
                "shape": f"N{hidden} B{batch} T{steps} C{cells}", "seconds": t, "gflops": flops / t / 1e9, **gemm,
                "fraction_of_gemm": flops / t / 1e9 / gemm["gemm_gflops"], "speedup_vs_single": single / t,
                "peak_rss_mb": common.peak_rss_mb(),
            })
    return rows


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    common.setup(args)
    batch, steps, hidden, cells = (200, 100, 512, 512) if not args.quick else (50, 20, 128, 64)
    n_steps = 3 if not args.quick else 2  # optimiser steps per timed repeat
    inputs, targets, start = place_code_batch(batch, steps, cells)
    rows = []
    for name, (knobs, loss_form) in VARIANTS.items():
        torch.manual_seed(0)
        model = NoisyRNN(n_in=2, n_out=cells, params=CellParams(hidden=hidden, **knobs))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(1)

        def step():
            outputs = model(inputs, start, generator=gen)
            if loss_form == "mse_loss":
                loss = torch.nn.functional.mse_loss(outputs, targets)
            else:
                loss = torch.mean((outputs - targets) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            return loss.item()

        def run():
            return [common.time_it(lambda: [step() for _ in range(n_steps)], 1, warmup=0)[0] / n_steps
                    for _ in range(args.repeats)]

        step()  # warm-up (allocations, first-call costs)
        times, gemm = common.bracket_gemm(run)
        # forward alone, to split the step's time
        with torch.no_grad():
            fwd = common.time_it(lambda: model(inputs, start, generator=gen), args.repeats)
        flops = train_flops(batch, steps, hidden, 2, cells)
        t = statistics.median(times)
        rows.append({
            "stage": "train_step", "variant": name, "shape": f"N{hidden} B{batch} T{steps} C{cells}",
            "seconds": t, "seconds_min": min(times), "forward_nograd_s": statistics.median(fwd),
            "gflop": flops / 1e9, "gflops": flops / t / 1e9, **gemm,
            "fraction_of_gemm": flops / t / 1e9 / gemm["gemm_gflops"],
            "kr24_2500_steps_min": 2500 * t / 60, "peak_rss_mb": common.peak_rss_mb(),
        })
    rows += default_shape_rows(args)
    rows += ensemble_rows(args)
    common.report("train", rows, args, ["variant", "shape", "seconds", "seconds_min", "forward_nograd_s", "forward_s",
                                        "backward_s", "optimiser_s", "noise_s", "gemm_s", "gflops", "gemm_gflops",
                                        "fraction_of_gemm", "speedup_vs_single", "kr24_2500_steps_min", "peak_rss_mb"])


if __name__ == "__main__":
    main()

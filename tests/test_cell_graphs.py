"""The CUDA-graph path of training (rnnreplay.cell_graphs, issue 24 item 3), on CPU.

Without a GPU the graphs are not captured, but everything around the capture runs: the static
input buffers, the sequence's noise drawn at once, the per-member rate buffer, the cache of loops
by shape and constants, and the copies out. These tests pin that path to the plain fused path
bit for bit, for every mechanism combination and for members that differ, and for a whole
training. The replay of a captured graph against the eager loop on a GPU is checked by
tests/benchmarks/bench_gpu.py (section ``graphs``).
"""

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnreplay.cell_graphs import CellGraphs, StaticCall
from rnnreplay.cli import _cuda_graphs
from rnnreplay.config import synthesis_job, train_job
from rnnreplay.config_files import load_yaml
from rnnreplay.data import synthesize
from rnnreplay.model import CellParams, Ensemble, NoisyRNN
from rnnreplay.train import train_ensemble
from test_ensemble import data, generators
from test_mixed_ensemble import MEMBERS

SAME = [dict(leak=0.2), dict(leak=0.2, adapt_strength=0.3), dict(leak=0.2, friction=0.6),
        dict(leak=0.2, adapt_strength=0.3, friction=0.6, activation="tanh"), dict(leak=1.0, sigma=0.0)]


def run(knobs: list[dict], graphs: CellGraphs | None, hidden=32, batch=6, switches=(True, True)):
    """Outputs and every member's gradients of one forward and backward of an ensemble."""
    nets = []
    for seed, k in enumerate(knobs):
        torch.manual_seed(seed)
        nets.append(NoisyRNN(2, 5, CellParams(hidden=hidden, **{"sigma": 0.05, **k})))
    ensemble = Ensemble(nets)
    ensemble.graphs = graphs
    inputs, starts, targets = data(len(nets), batch=batch)
    outs = ensemble(inputs, starts, generators=generators(len(nets)), adaptation=switches[0], momentum=switches[1])
    sum(torch.nn.functional.mse_loss(o, t) for o, t in zip(outs, targets)).backward()
    return [o.detach() for o in outs], [{k: p.grad for k, p in n.named_parameters()} for n in nets]


def assert_identical(a, b):
    (outs_a, grads_a), (outs_b, grads_b) = a, b
    for x, y in zip(outs_a, outs_b):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    for ga, gb in zip(grads_a, grads_b):
        for name in ga:
            torch.testing.assert_close(ga[name], gb[name], rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("knobs", SAME, ids=lambda k: "-".join(f"{a}{b}" for a, b in k.items()))
@pytest.mark.parametrize("switches", [(True, True), (False, False)])
def test_graph_path_equals_the_fused_path_bitwise(knobs, switches):
    members, graphs = [knobs] * 3, CellGraphs(capture=False)
    assert_identical(run(members, graphs, switches=switches), run(members, None, switches=switches))
    assert len(graphs.calls) == 1  # the graph path ran


@pytest.mark.parametrize("batch", [6, 5])  # B*N a multiple of 16 (noise drawn in chunks) or not
def test_members_that_differ_through_the_rate_buffer(batch):
    graphs = CellGraphs(capture=False)
    assert_identical(run(MEMBERS, graphs, batch=batch), run(MEMBERS, None, batch=batch))
    forward_call, _ = next(iter(graphs.calls.values()))
    assert forward_call.buffers[3].shape == (4, len(MEMBERS), 1, 1)  # the rates are inputs, not constants


def test_loops_are_cached_by_shape_and_constants():
    graphs = CellGraphs(capture=False)
    for _ in range(2):
        run([SAME[0]] * 2, graphs)
    assert len(graphs.calls) == 1
    run([SAME[0]] * 2, graphs, batch=4)  # a new shape
    run([dict(leak=0.3)] * 2, graphs)  # a new float rate: a constant of the loop
    assert len(graphs.calls) == 3


def test_static_call_returns_fresh_tensors():
    call = StaticCall(lambda x: (x * 2,), (torch.zeros(3),), capture=False)
    first = call(torch.ones(3))
    second = call(torch.full((3,), 5.0))
    assert first[0].tolist() == [2.0] * 3 and second[0].tolist() == [10.0] * 3


def test_training_with_the_graph_path_equals_training_without():
    """Two trained variants of the tiny config, two seeds each, in one ensemble: weights and loss
    curves bitwise equal with cuda_graphs on (CPU: the same path without capture) and off."""
    torch.set_num_threads(1)
    cfg = load_yaml(Path(__file__).parent / "configs" / "tiny.yaml")
    jobs = [train_job(cfg, "tmaze", v, s) for v in ("noleak", "leak_adapt_mom") for s in (0, 1)]
    pools = {s: synthesize(synthesis_job(cfg, "tmaze", "train", s))["position"].values for s in (0, 1)}
    runs = [train_ensemble(jobs, [pools[j.seed] for j in jobs], log=lambda m: None, cuda_graphs=on)
            for on in (True, False)]
    (models_on, losses_on), (models_off, losses_off) = runs
    for loss_on, loss_off in zip(losses_on, losses_off):
        np.testing.assert_array_equal(loss_on["loss"].values, loss_off["loss"].values)
    for on, off in zip(models_on, models_off):
        for name, value in off.state_dict().items():
            torch.testing.assert_close(on.state_dict()[name], value, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("asked, device, expected", [(True, "cpu", False), (True, "cuda", True),
                                                     (None, "cuda", False), (False, "cuda", False)])
def test_cuda_graphs_act_only_on_cuda(asked, device, expected, monkeypatch):
    monkeypatch.delenv("RNNREPLAY_CONFIG", raising=False)
    assert _cuda_graphs(argparse.Namespace(cuda_graphs=asked), torch.device(device)) is expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run by tests/benchmarks/gpu_check.sh)")
@pytest.mark.parametrize("knobs", [SAME[0], SAME[3]], ids=["leak", "leak_adapt_mom_tanh"])
def test_captured_graphs_replay_the_eager_loops_on_cuda(knobs):
    """Captured and replayed (three training-like calls: capture, then two replays with new noise)
    against the plain fused loops on CUDA: outputs and gradients to 1e-6 of the largest value."""
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    results = []
    for graphs in (None, CellGraphs(capture=True)):
        nets = []
        for seed in range(3):
            torch.manual_seed(seed)
            nets.append(NoisyRNN(2, 5, CellParams(hidden=64, **{"sigma": 0.05, **knobs})).to(device))
        ensemble = Ensemble(nets)
        ensemble.graphs = graphs
        inputs, starts, targets = ([x.to(device) for x in xs] for xs in data(3, batch=16))
        gens = [torch.Generator(device=device).manual_seed(100 + s) for s in range(3)]
        for _ in range(3):
            ensemble.zero_grad(set_to_none=True)
            outs = ensemble(inputs, starts, generators=gens)
            sum(torch.nn.functional.mse_loss(o, t) for o, t in zip(outs, targets)).backward()
        results.append(([o.detach() for o in outs], [p.grad.clone() for p in ensemble.parameters()]))
    for ref, got in zip(results[0][0] + results[0][1], results[1][0] + results[1][1]):
        assert float((got - ref).abs().max()) <= 1e-6 * float(ref.abs().max())

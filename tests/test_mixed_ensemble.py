"""Ensembles whose members are different variants of a task (issue 24: many networks per training
process): the members' leak, adaptation, momentum, noise std and mechanism switches become
per-member (S, 1, 1) tensors in the one batched loop, and each member equals its single run to
float32 rounding (not bitwise: a rate applied as a tensor row, and a mechanism that is off for a
member but on for another, round differently). Members with equal knobs keep the single run's
exact arithmetic (bitwise: tests/test_ensemble.py)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rnnreplay.config import synthesis_job, train_job
from rnnreplay.config_files import load_yaml
from rnnreplay.data import synthesize
from rnnreplay.model import CellParams, Ensemble, NoisyRNN
from rnnreplay.train import train, train_ensemble
from test_ensemble import data, generators

# every mechanism combination, two noise stds, a noise scaling and a noiseless member
MEMBERS = [dict(leak=1.0), dict(leak=0.2), dict(leak=0.2, adapt_strength=0.3), dict(leak=0.2, friction=0.6),
           dict(leak=0.2, adapt_strength=0.3, friction=0.6), dict(leak=0.5, adapt_strength=0.6, adapt_tau=4.0),
           dict(leak=0.2, sigma=0.0), dict(leak=0.3, noise_scaling="sqrt_leak", friction=0.8)]
RTOL = 2e-5  # of the largest value, for outputs and gradients after 25 steps of recurrence


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max()) <= RTOL * float(b.abs().max()) + 1e-12


@pytest.mark.parametrize("switches", [(True, True), (False, True), (True, False), "mixed"])
def test_members_of_other_variants_equal_their_single_runs(switches):
    size = len(MEMBERS)
    nets = []
    for seed, knobs in enumerate(MEMBERS):
        torch.manual_seed(seed)
        nets.append(NoisyRNN(2, 5, CellParams(hidden=32, **{"sigma": 0.05, **knobs})))
    if switches == "mixed":  # mechanisms acting in training for some members, in replay only for others
        adaptation, momentum = [s % 2 == 0 for s in range(size)], [s % 3 != 0 for s in range(size)]
    else:
        adaptation, momentum = [switches[0]] * size, [switches[1]] * size
    inputs, starts, targets = data(size)
    ensemble = Ensemble(nets)
    assert ensemble.fused
    outs, hidden = ensemble(inputs, starts, generators=generators(size), return_hidden=True, adaptation=adaptation,
                            momentum=momentum, noise_multiplier=1.3)
    sum(torch.nn.functional.mse_loss(o, t) for o, t in zip(outs, targets)).backward()
    ens_grads = [{k: p.grad.clone() for k, p in n.named_parameters()} for n in nets]
    for n in nets:
        n.zero_grad()
    for s, (n, g) in enumerate(zip(nets, generators(size))):
        out, h = n(inputs[s], starts[s], generator=g, return_hidden=True, adaptation=adaptation[s],
                   momentum=momentum[s], noise_multiplier=1.3)
        assert close(outs[s], out) and close(hidden[s], h), s
        torch.nn.functional.mse_loss(out, targets[s]).backward()
        for k, p in n.named_parameters():
            assert close(ens_grads[s][k], p.grad), (s, k)


def test_training_variants_side_by_side_equals_training_each_alone():
    """The T-maze's trained variants of the tiny config, two seeds each, in one ensemble: every
    member's loss curve and weights equal its own training to float32 tolerance."""
    torch.set_num_threads(1)
    cfg = load_yaml(Path(__file__).parent / "configs" / "tiny.yaml")
    cfg["variants"]["leak_mom"] = {"leak": 0.2, "friction": 0.6}
    cfg["variants"]["replay_only"] = {"leak": 0.5, "adapt_strength": 0.3, "adaptation_in": "replay"}
    jobs = [train_job(cfg, "tmaze", v, s) for v in ("noleak", "leak_adapt_mom", "leak_mom", "replay_only")
            for s in (0, 1)]
    assert len({repr((j.cell, j.mechanisms)) for j in jobs}) == 4
    pools = {s: synthesize(synthesis_job(cfg, "tmaze", "train", s))["position"].values for s in (0, 1)}
    models, losses = train_ensemble(jobs, [pools[j.seed] for j in jobs], log=lambda m: None)
    for job, model, loss in zip(jobs, models, losses):
        alone, alone_loss = train(job, pools[job.seed], log=lambda m: None)
        np.testing.assert_allclose(loss["loss"].values, alone_loss["loss"].values, rtol=1e-4)
        for name, value in alone.state_dict().items():
            assert close(model.state_dict()[name], value), (job.variant, job.seed, name)

"""Ensembles: S networks run side by side (one batched loop over time) give each member exactly
its single-network outputs and gradients. On CPU the batched products (torch.bmm, baddbmm_) are
bitwise the per-member products (MKL runs the same kernel per matrix), and every elementwise
operation is the same per element, so the tests assert bitwise equality, not a tolerance."""

import pytest
import torch

from rnnreplay.model import CellParams, Ensemble, NoisyRNN, make_cell

KNOBS = {
    "noleak": dict(leak=1.0),
    "leak_adapt_mom": dict(leak=0.2, adapt_strength=0.3, friction=0.6),
    "tanh_mom": dict(leak=0.5, friction=0.7, activation="tanh"),
    "noiseless": dict(leak=0.2, sigma=0.0),
}


def members(knobs, size=3, hidden=32, n_in=2, n_out=5, cell=NoisyRNN):
    out = []
    for seed in range(size):
        torch.manual_seed(seed)
        out.append(cell(n_in, n_out, CellParams(hidden=hidden, **{"sigma": 0.05, **knobs})) if cell is NoisyRNN
                   else make_cell(n_in, n_out, CellParams(hidden=hidden, **{"sigma": 0.05, **knobs})))
    return out


def data(size=3, batch=6, steps=25, n_in=2, n_out=5):
    g = torch.Generator().manual_seed(11)
    return ([0.1 * torch.randn(batch, steps, n_in, generator=g) for _ in range(size)],
            [torch.randn(batch, n_out, generator=g) for _ in range(size)],
            [torch.randn(batch, steps, n_out, generator=g) for _ in range(size)])


def generators(size=3):
    return [torch.Generator().manual_seed(100 + s) for s in range(size)]


@pytest.mark.parametrize("name", KNOBS)
@pytest.mark.parametrize("mechanisms", [(True, True), (False, True), (True, False)])
def test_members_equal_their_single_runs_bitwise(name, mechanisms):
    nets = members(KNOBS[name])
    inputs, starts, targets = data()
    kw = dict(adaptation=mechanisms[0], momentum=mechanisms[1], noise_multiplier=1.3)
    ensemble = Ensemble(nets)
    assert ensemble.fused
    outs, hidden = ensemble(inputs, starts, generators=generators(), return_hidden=True, **kw)
    sum(torch.nn.functional.mse_loss(o, t) for o, t in zip(outs, targets)).backward()
    ens_grads = [{k: p.grad.clone() for k, p in n.named_parameters()} for n in nets]
    for n in nets:
        n.zero_grad()
    for s, (n, g) in enumerate(zip(nets, generators())):
        out, h = n(inputs[s], starts[s], generator=g, return_hidden=True, **kw)
        assert torch.equal(out, outs[s]) and torch.equal(h, hidden[s])
        torch.nn.functional.mse_loss(out, targets[s]).backward()
        for k, p in n.named_parameters():
            assert torch.equal(p.grad, ens_grads[s][k]), (name, s, k)


def test_zero_input_replay_of_an_ensemble_equals_single_runs():
    nets = members(KNOBS["leak_adapt_mom"])
    _, starts, _ = data()
    with torch.inference_mode():
        outs = Ensemble(nets)(None, starts, steps=40, generators=generators())
        for s, (n, g) in enumerate(zip(nets, generators())):
            assert torch.equal(n(None, starts[s], steps=40, generator=g), outs[s])


def test_cells_off_the_fused_path_run_member_by_member():
    gru = members(dict(cell="gru", activation="tanh"), cell=None)
    inputs, starts, _ = data()
    ensemble = Ensemble(gru)
    assert not ensemble.fused
    outs = ensemble(inputs, starts, generators=generators())
    for s, (n, g) in enumerate(zip(gru, generators())):
        assert torch.equal(n(inputs[s], starts[s], generator=g), outs[s])

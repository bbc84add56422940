"""The cell: each knob's 'off' value reduces it to the simpler cell, exactly."""

import math

import pytest
import torch

from rnnreplay.model import CellParams, NoisyRNN, draw_noise


def make(seed=0, **knobs):
    torch.manual_seed(seed)
    return NoisyRNN(n_in=2, n_out=3, params=CellParams(hidden=16, **knobs))


def first_order_reference(model, inputs, start, noise):
    """The first-order cell of docs/methods.md written out: r' = r + leak (-r + relu(pre)) + noise."""
    p = model.params
    r = model.encoder(start)
    outs = []
    for t in range(inputs.shape[1]):
        pre = model.recurrent(r) + model.input(inputs[:, t])
        r = r + p.leak * (-r + torch.relu(pre)) + noise[t]
        outs.append(model.readout(r))
    return torch.stack(outs, 1)


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(4, 12, 2, generator=g) * 0.05, torch.randn(4, 3, generator=g)


def test_friction_one_is_first_order_cell(batch):
    inputs, start = batch
    model = make(leak=0.3, friction=1.0, sigma=0.05)
    out = model(inputs, start, generator=torch.Generator().manual_seed(7))
    noise = 0.05 * torch.randn((12, 4, 16), generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(out, first_order_reference(model, inputs, start, noise), rtol=0, atol=1e-6)


def test_momentum_switch_off_equals_friction_one(batch):
    inputs, start = batch
    with_mom = make(leak=0.3, friction=0.4, sigma=0.0)
    without = make(leak=0.3, friction=1.0, sigma=0.0)
    torch.testing.assert_close(with_mom(inputs, start, momentum=False), without(inputs, start))
    assert not torch.allclose(with_mom(inputs, start), without(inputs, start))


def test_leak_one_replaces_state(batch):
    inputs, start = batch
    model = make(leak=1.0, sigma=0.0)
    _, hidden = model(inputs, start, return_hidden=True)
    r_prev = torch.cat([model.encoder(start)[:, None], hidden[:, :-1]], 1)
    expected = torch.relu(model.recurrent(r_prev) + model.input(inputs))
    torch.testing.assert_close(hidden, expected, rtol=0, atol=1e-6)


def test_zero_adaptation_strength_is_no_adaptation(batch):
    inputs, start = batch
    a = make(leak=0.5, adapt_strength=0.0, sigma=0.0)
    b = make(leak=0.5, adapt_strength=0.8, sigma=0.0)
    torch.testing.assert_close(a(inputs, start), b(inputs, start, adaptation=False))
    assert not torch.allclose(a(inputs, start), b(inputs, start))


def test_adaptation_follows_its_equation():
    """One unit, no recurrence: a_{t+1} = (1 - 1/tau) a_t + b_a r_t / tau feeds back into pre."""
    model = NoisyRNN(1, 1, CellParams(hidden=1, leak=1.0, adapt_strength=0.5, adapt_tau=2.0, sigma=0.0))
    with torch.no_grad():
        model.encoder.weight.fill_(1.0)
        model.recurrent.weight.fill_(0.0)
        model.input.weight.fill_(0.0)
        model.input.bias.fill_(1.0)
        model.readout.weight.fill_(1.0)
        model.readout.bias.fill_(0.0)
    out = model(torch.zeros(1, 3, 1), torch.ones(1, 1)).flatten().tolist()
    # r0 = 1, a0 = 0 -> r1 = relu(1 - 0) = 1, a1 = 0.25; r2 = relu(1 - 0.25) = 0.75, a2 = 0.125 + 0.25
    # r3 = relu(1 - 0.375) = 0.625
    assert out == pytest.approx([1.0, 0.75, 0.625])


def test_noise_off_is_deterministic(batch):
    inputs, start = batch
    model = make(leak=0.2, sigma=0.0)
    torch.testing.assert_close(model(inputs, start), model(inputs, start), rtol=0, atol=0)
    noisy = make(leak=0.2, sigma=0.1)
    assert not torch.allclose(noisy(inputs, start), noisy(inputs, start))
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    torch.testing.assert_close(noisy(inputs, start, generator=g()), noisy(inputs, start, generator=g()))


@pytest.mark.parametrize("scaling,factor", [("constant", 1.0), ("sqrt_leak", math.sqrt(0.25)), ("leak", 0.25)])
def test_noise_scaling(scaling, factor):
    assert CellParams(leak=0.25, sigma=0.2, noise_scaling=scaling).noise_std == pytest.approx(0.2 * factor)


def test_uniform01_noise_is_positive():
    model = make(leak=1.0, sigma=1.0, noise="uniform01")
    z = draw_noise(model.params.noise, (1000,), 1.0, torch.zeros(1), None)
    assert 0 <= z.min() and z.max() < 1 and abs(z.mean().item() - 0.5) < 0.05


@pytest.mark.parametrize("bad", [dict(leak=0.0), dict(leak=1.5), dict(friction=0), dict(sigma=-1),
                                 dict(noise_scaling="x"), dict(activation="gelu"), dict(adapt_strength=-0.1)])
def test_bad_knobs_are_rejected(bad):
    with pytest.raises(ValueError):
        CellParams(**bad)


def test_gru_follows_kr24_update(batch):
    """h' = h + leak (1 - z) (tanh(u) - h) with z, reset g from sigmoids; no noise."""
    from rnnreplay.model import NoisyGRU, make_cell

    torch.manual_seed(0)
    model = make_cell(2, 3, CellParams(hidden=16, cell="gru", activation="tanh", leak=0.2, sigma=0.0))
    assert isinstance(model, NoisyGRU)
    inputs, start = batch
    out, hidden = model(inputs, start, return_hidden=True)
    n = 16
    h = model.encoder(start)
    Wz, Wg, Wh = model.input.weight.split(n)
    bz, bg, bh = model.input.bias.split(n)
    Uz, Ug = model.recurrent_gates.weight.split(n)
    for t in range(inputs.shape[1]):
        u = inputs[:, t]
        z = torch.sigmoid(u @ Wz.T + bz + h @ Uz.T)
        g = torch.sigmoid(u @ Wg.T + bg + h @ Ug.T)
        h = h + 0.2 * (1 - z) * (torch.tanh(u @ Wh.T + bh + (g * h) @ model.recurrent.weight.T) - h)
    torch.testing.assert_close(hidden[:, -1], h, rtol=0, atol=1e-5)
    torch.testing.assert_close(out, model.readout(hidden))


def test_gru_noise_and_rejected_knobs(batch):
    from rnnreplay.model import make_cell

    inputs, start = batch
    noisy = make_cell(2, 3, CellParams(hidden=16, cell="gru", sigma=0.1))
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    torch.testing.assert_close(noisy(inputs, start, generator=g()), noisy(inputs, start, generator=g()))
    assert not torch.allclose(noisy(inputs, start), noisy(inputs, start, noise_multiplier=0.0))
    for bad in (dict(friction=0.5), dict(adapt_strength=0.3), dict(cell="lstm")):
        with pytest.raises(ValueError):
            CellParams(cell=bad.pop("cell", "gru"), **bad)

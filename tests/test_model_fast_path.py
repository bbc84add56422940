"""The fast recurrence (preallocated buffers, chunked noise, hand-written backward) against a
straightforward per-step reference: the loop the cell was first written as, kept here verbatim."""

import pytest
import torch

from rnnreplay import model as model_mod
from rnnreplay.model import CellParams, NoisyRNN


def reference_forward(model, inputs, start_code, *, adaptation=True, momentum=True, noise_multiplier=1.0,
                      generator=None):
    """The original implementation of NoisyRNN.forward: autograd through a plain per-step loop."""
    p = model.params
    batch, steps, _ = inputs.shape
    r = model.encoder(start_code)
    v = torch.zeros_like(r)
    a = torch.zeros_like(r)
    drive = model.input(inputs)
    friction = p.friction if momentum else 1.0
    use_adaptation = adaptation and p.adapt_strength > 0
    adapt_rate = 1.0 / p.adapt_tau
    noise = model_mod.draw_noise(p.noise, (steps, batch, p.hidden), p.noise_std * noise_multiplier, r, generator)
    W_rec = model.recurrent.weight.T
    states = []
    for t in range(steps):
        pre = r @ W_rec + drive[:, t]
        if use_adaptation:
            pre = pre - a
        dr = p.leak * (model.phi(pre) - r)
        if noise is not None:
            dr = dr + noise[t]
        v = dr if friction == 1.0 else (1.0 - friction) * v + dr
        if use_adaptation:
            a = (1.0 - adapt_rate) * a + adapt_rate * p.adapt_strength * r
        r = r + v
        states.append(r)
    hidden = torch.stack(states, dim=1)
    return model.readout(hidden), hidden


CELLS = {
    "noleak": dict(leak=1.0),
    "leak": dict(leak=0.2),
    "leak_adapt": dict(leak=0.2, adapt_strength=0.3),
    "leak_mom": dict(leak=0.2, friction=0.6),
    "leak_adapt_mom": dict(leak=0.2, adapt_strength=0.3, friction=0.4),
    "tanh_adapt_mom": dict(leak=0.5, adapt_strength=0.5, friction=0.7, activation="tanh"),
    "leaky_relu": dict(leak=0.3, activation="leaky_relu"),
    "uniform01": dict(leak=0.2, noise="uniform01", friction=0.5),
}


def make(knobs, hidden=32, n_in=2, n_out=5, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    return NoisyRNN(n_in, n_out, CellParams(hidden=hidden, sigma=0.05, **knobs)).to(dtype)


def data(batch=6, steps=25, n_in=2, n_out=5, dtype=torch.float32):
    g = torch.Generator().manual_seed(11)
    return (0.1 * torch.randn(batch, steps, n_in, generator=g, dtype=dtype),
            torch.randn(batch, n_out, generator=g, dtype=dtype))


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("mechanisms", [(True, True), (False, True), (True, False)])
def test_forward_matches_reference(name, mechanisms):
    model = make(CELLS[name])
    inputs, start = data()
    kw = dict(adaptation=mechanisms[0], momentum=mechanisms[1], noise_multiplier=1.4)
    out, hidden = model(inputs, start, generator=torch.Generator().manual_seed(3), return_hidden=True, **kw)
    ref_out, ref_hidden = reference_forward(model, inputs, start, generator=torch.Generator().manual_seed(3), **kw)
    torch.testing.assert_close(hidden, ref_hidden, rtol=0, atol=1e-6)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-6)
    with torch.inference_mode():  # the replay path (no buffers kept for backward)
        out_inf = model(inputs, start, generator=torch.Generator().manual_seed(3), **kw)
    torch.testing.assert_close(out_inf, ref_out, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_gradients_match_reference(name):
    model = make(CELLS[name], dtype=torch.float64)
    inputs, start = data(dtype=torch.float64)
    target = torch.randn(6, 25, 5, generator=torch.Generator().manual_seed(5), dtype=torch.float64)

    def grads(forward):
        model.zero_grad()
        out = forward(model, inputs, start, generator=torch.Generator().manual_seed(3))
        out = out[0] if isinstance(out, tuple) else out
        torch.mean((out - target) ** 2).backward()
        return {k: p.grad.clone() for k, p in model.named_parameters()}

    fast = grads(lambda m, *a, **kw: m(*a, **kw))
    ref = grads(reference_forward)
    for key in ref:
        torch.testing.assert_close(fast[key], ref[key], rtol=1e-9, atol=1e-12, msg=key)


@pytest.mark.parametrize("name", ["leak_adapt_mom", "tanh_adapt_mom"])
def test_gradcheck(name):
    model = make(CELLS[name], hidden=6, n_out=3, dtype=torch.float64)
    inputs, start = data(batch=3, steps=7, n_out=3, dtype=torch.float64)
    inputs.requires_grad_(True)
    start.requires_grad_(True)

    def f(inputs, start):
        return model(inputs, start, generator=torch.Generator().manual_seed(1), return_hidden=True)

    assert torch.autograd.gradcheck(f, (inputs, start), fast_mode=True)


def test_chunked_noise_is_the_same_stream(monkeypatch):
    model = make(CELLS["leak_mom"], hidden=32)
    inputs, start = data(steps=40)
    whole = model(inputs, start, generator=torch.Generator().manual_seed(9))
    monkeypatch.setattr(model_mod._NoiseStream, "chunk_elements", 6 * 32 * 3)  # 3 steps per chunk
    chunked = model(inputs, start, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(chunked, whole, rtol=0, atol=0)


def test_pinned_outputs_of_a_seeded_model():
    """A few numbers of a small seeded model, so that a change of the cell's arithmetic shows."""
    model = make(CELLS["leak_adapt_mom"], hidden=16)
    inputs, start = data(steps=10)
    out = model(inputs, start, generator=torch.Generator().manual_seed(3))
    ref, _ = reference_forward(model, inputs, start, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    assert out.shape == (6, 10, 5) and torch.isfinite(out).all()


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_zero_input_replay_equals_explicit_zeros(cell):
    """inputs=None (replay: the bias broadcast, no (T, B, N) drive tensor) gives bitwise the
    outputs and hidden states of an explicit all-zero input."""
    torch.manual_seed(0)
    params = CellParams(hidden=32, leak=0.3, sigma=0.05, cell=cell,
                        **(dict(activation="tanh") if cell == "gru" else dict(adapt_strength=0.2, friction=0.7)))
    model = model_mod.make_cell(n_in=2, n_out=5, params=params).eval()
    start = torch.randn(4, 5)
    with torch.inference_mode():
        explicit = model(torch.zeros(4, 50, 2), start, generator=torch.Generator().manual_seed(1), return_hidden=True)
        implicit = model(None, start, steps=50, generator=torch.Generator().manual_seed(1), return_hidden=True)
    for a, b in zip(explicit, implicit):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="steps"):
        model(None, start)

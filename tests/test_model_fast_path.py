"""The fused recurrence (preallocated buffers, chunked noise, hand-written backward) against the
cell's definition, the readable :meth:`NoisyRNN.step` loop differentiated by autograd: forward
bitwise equal, gradients equal to rounding; and the fused path runs only cells it implements."""

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from rnnreplay import config as rc
from rnnreplay import config_files as rcf
from rnnreplay import fused_cell
from rnnreplay import model as model_mod
from rnnreplay.model import CellParams, NoisyRNN, make_cell, uses_fused_path

ROOT = Path(__file__).resolve().parents[1]

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
MECHANISMS = [(True, True), (False, True), (True, False), (False, False)]  # (adaptation, momentum)


def make(knobs, hidden=32, n_in=2, n_out=5, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    return NoisyRNN(n_in, n_out, CellParams(hidden=hidden, sigma=0.05, **knobs)).to(dtype)


def data(batch=6, steps=25, n_in=2, n_out=5, dtype=torch.float32):
    g = torch.Generator().manual_seed(11)
    return (0.1 * torch.randn(batch, steps, n_in, generator=g, dtype=dtype),
            torch.randn(batch, n_out, generator=g, dtype=dtype))


def seeded(seed=3):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("mechanisms", MECHANISMS)
@pytest.mark.parametrize("mode", ["grad", "inference"])
def test_fused_forward_is_bitwise_the_readable_step(name, mechanisms, mode):
    """Outputs and hidden states, driven (training, active) and without input (replay)."""
    model = make(CELLS[name])
    assert model.fused
    inputs, start = data()
    kw = dict(adaptation=mechanisms[0], momentum=mechanisms[1], noise_multiplier=1.4, return_hidden=True)
    with torch.inference_mode() if mode == "inference" else contextlib.nullcontext():
        for args in [(inputs, start), (None, start)]:
            steps = None if args[0] is not None else 30
            fused = model(*args, steps=steps, generator=seeded(), **kw)
            readable = model(*args, steps=steps, generator=seeded(), readable=True, **kw)
            assert fused[0].requires_grad == (mode == "grad")
            for a, b in zip(fused, readable):
                assert torch.equal(a, b)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("mechanisms", MECHANISMS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, dict(rtol=1e-6, atol=1e-6)),
                                       (torch.float64, dict(rtol=1e-9, atol=1e-12))])
def test_fused_gradients_match_autograd_of_the_readable_step(name, mechanisms, dtype, tol):
    model = make(CELLS[name], dtype=dtype)
    inputs, start = data(dtype=dtype)
    target = torch.randn(6, 25, 5, generator=seeded(5), dtype=dtype)
    kw = dict(adaptation=mechanisms[0], momentum=mechanisms[1])

    def grads(readable):
        model.zero_grad()
        out = model(inputs, start, generator=seeded(), readable=readable, **kw)
        torch.mean((out - target) ** 2).backward()
        return {k: p.grad.clone() for k, p in model.named_parameters()}

    fused, readable = grads(False), grads(True)
    for key in readable:
        torch.testing.assert_close(fused[key], readable[key], **tol, msg=key)


@pytest.mark.parametrize("name", ["leak_adapt_mom", "tanh_adapt_mom"])
def test_gradcheck(name):
    model = make(CELLS[name], hidden=6, n_out=3, dtype=torch.float64)
    inputs, start = data(batch=3, steps=7, n_out=3, dtype=torch.float64)
    inputs.requires_grad_(True)
    start.requires_grad_(True)

    def f(inputs, start):
        return model(inputs, start, generator=seeded(1), return_hidden=True)

    assert torch.autograd.gradcheck(f, (inputs, start), fast_mode=True)


def test_chunked_noise_is_the_same_stream(monkeypatch):
    model = make(CELLS["leak_mom"], hidden=32)
    inputs, start = data(steps=40)
    whole = model(inputs, start, generator=seeded(9))
    monkeypatch.setattr(model_mod.NoiseStream, "chunk_elements", 6 * 32 * 3)  # 3 steps per chunk
    chunked = model(inputs, start, generator=seeded(9))
    torch.testing.assert_close(chunked, whole, rtol=0, atol=0)


def test_pinned_outputs_of_a_seeded_model():
    """A few numbers of a small seeded model, so that a change of the cell's arithmetic shows
    (the values the cell gave before the readable step became its definition)."""
    model = make(CELLS["leak_adapt_mom"], hidden=16)
    inputs, start = data(steps=10)
    out = model(inputs, start, generator=seeded())
    assert torch.equal(out, model(inputs, start, generator=seeded(), readable=True))
    assert out.shape == (6, 10, 5) and torch.isfinite(out).all()
    pinned = {(0, 9): [0.14831629, 0.05687889, -0.02055586, -0.33541524, -0.23614123],
              (5, 4): [0.22656727, 0.32255197, 0.01477019, -0.51995265, -0.00820291]}
    for (b, t), values in pinned.items():
        torch.testing.assert_close(out[b, t], torch.tensor(values), rtol=0, atol=1e-6)


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
        explicit = model(torch.zeros(4, 50, 2), start, generator=seeded(1), return_hidden=True)
        implicit = model(None, start, steps=50, generator=seeded(1), return_hidden=True)
    for a, b in zip(explicit, implicit):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="steps"):
        model(None, start)


# --- when the fused path runs ---------------------------------------------------------------------


@dataclass
class WithExtraField(CellParams):
    """The knobs plus a mechanism the fused path does not implement (0 = off)."""

    extra: float = 0.0


def test_a_field_the_fused_path_lacks_sends_the_cell_to_the_readable_step():
    assert uses_fused_path(WithExtraField(leak=0.2, friction=0.6))  # the new mechanism off
    assert not uses_fused_path(WithExtraField(leak=0.2, extra=0.5))
    model = NoisyRNN(2, 5, WithExtraField(hidden=8, extra=0.5))
    assert not model.fused


def test_a_redefined_step_or_an_unknown_phi_runs_the_readable_step(monkeypatch):
    class OwnStep(NoisyRNN):
        def step(self, state, drive_t, noise_t, knobs):
            return super().step(state, drive_t, noise_t, knobs)

    assert NoisyRNN(2, 5, CellParams(hidden=8)).fused
    assert not OwnStep(2, 5, CellParams(hidden=8)).fused
    assert not uses_fused_path(CellParams(cell="gru"))
    steeper = lambda x: torch.nn.functional.leaky_relu(x, 0.2)  # noqa: E731  (not the fused path's slope)
    monkeypatch.setitem(model_mod.ACTIVATIONS, "leaky_relu", steeper)
    assert not uses_fused_path(CellParams(activation="leaky_relu"))
    with pytest.raises(ValueError, match="does not implement"):
        fused_cell.activation_grad(torch.ones(2), torch.ones(2), "gelu", out=torch.empty(2))


def shipped_configs():
    return [ROOT / "config.yaml", *sorted((ROOT / "workflow" / "configs").glob("*.yaml"))]


@pytest.mark.parametrize("path", shipped_configs(), ids=lambda p: p.name)
def test_every_shipped_knob_combination_runs_on_the_fused_path(path):
    """Each task's variants, trained and replay cells alike (the GRU is another cell)."""
    from rnnreplay.universes import universe_configs

    cfg = rcf.load_config(path)  # with the config it extends, if any (paper.yaml: kr24_paper.yaml)
    configs = list(universe_configs(cfg).values()) if cfg.get("robustness") else [cfg]  # a map: every universe
    checked = 0
    for cfg in configs:
        for task in cfg["tasks"]:
            for variant in rc.task_variants(cfg, task):
                for cell_variant in (rc.trained_variant(cfg, variant), variant):
                    params, _ = rc.split_knobs(rc.cell_knobs(cfg, task, cell_variant))
                    if params.cell == "gru":
                        continue
                    assert uses_fused_path(params), (task, variant, cell_variant)
                    assert make_cell(2, 3, params).fused, (task, variant, cell_variant)
                    checked += 1
    assert checked > 0

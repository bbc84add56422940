"""Adding a mechanism the documented way (docs/workflow.md#adding-a-mechanism): a field whose default switches it
off and one line in the step; the fused path steps aside and autograd gives the gradient.

Here without editing the package: the field on a CellParams subclass, the line in the step of a
NoisyRNN subclass, the two joined by a registered cell name. The mechanism is global inhibition,
g_I mean_i r_t,i subtracted from every unit's pre-activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from rnnreplay import fused_cell
from rnnreplay import model as model_mod
from rnnreplay.jobs import Mechanisms, ReplaySettings, TaskSetup, TrainJob, TrainSettings
from rnnreplay.model import CellParams, CellState, NoisyRNN, register_cell
from rnnreplay.replay import load_for_replay, sample_replay
from rnnreplay.train import train


@dataclass
class InhibitionParams(CellParams):
    """CellParams and the new field (in the package: one more field of CellParams)."""

    inhibition: float = 0.0  # g_I >= 0, global inhibition (0 = off)
    cell: str = "rnn_inhibition"


class InhibitionRNN(NoisyRNN):
    """NoisyRNN.step with one more line (in the package: that line in NoisyRNN.step)."""

    def step(self, state, drive_t, noise_t, knobs):
        r, v, a = state
        pre = r @ self.recurrent.weight.T + drive_t - a
        pre = pre - self.params.inhibition * r.mean(-1, keepdim=True)  # the new mechanism
        dr = knobs.leak * (self.phi(pre) - r)
        dr = dr + noise_t
        v = (1.0 - knobs.friction) * v + dr
        a = (1.0 - knobs.adapt_rate) * a + knobs.adapt_rate * knobs.adapt_strength * r
        return CellState(r + v, v, a)


KNOBS = dict(hidden=16, leak=0.2, adapt_strength=0.3, friction=0.6)
TRAIN = TrainSettings(steps=5, batch=8, lr=1e-3, masking=0, grad_clip=10.0)
REPLAY = ReplaySettings(trajectories=4, steps=50, noise_multiplier=2**0.5, hidden_every=0)


@pytest.fixture
def inhibition_cell():
    register_cell("rnn_inhibition", InhibitionRNN)
    yield
    del model_mod.CELL_CLASSES["rnn_inhibition"]
    model_mod.CELLS.remove("rnn_inhibition")


def train_and_replay(params: CellParams):
    """A few Adam steps on a tiny T-maze pool, then a short replay: (model, losses, positions)."""
    job = TrainJob(TaskSetup("tmaze", "tmaze"), "inhibition", 0, params, Mechanisms(), TRAIN)
    task = job.task.build()
    pool = task.sample_positions(32, 20, np.random.default_rng(0))
    model, loss = train(job, pool, log=lambda line: None)
    replayer = load_for_replay(model.state_dict(), task, params)
    replay = sample_replay(replayer, task, np.zeros((2, 2), np.float32), REPLAY, ("tmaze", 0))
    return replayer, loss["loss"].values, replay["position"]


def test_a_mechanism_added_as_a_field_and_a_line_trains_and_replays(inhibition_cell, monkeypatch):
    _, base_loss, _ = train_and_replay(CellParams(**KNOBS))  # the fused path

    def fused_path(*args, **kwargs):
        raise AssertionError("the fused path ran a cell it does not implement")

    monkeypatch.setattr(model_mod, "run_cell", fused_path)  # the loop without gradients (replay)
    monkeypatch.setattr(fused_cell, "run_cell", fused_path)  # the loop under the hand-written backward
    _, off_loss, off_position = train_and_replay(InhibitionParams(**KNOBS))
    on_model, on_loss, on_position = train_and_replay(InhibitionParams(**KNOBS, inhibition=0.5))

    assert type(on_model) is InhibitionRNN and not on_model.fused
    # switched off, the new cell is the old one: the first loss (same weights, batch and noise)
    # bit for bit, then the same training up to the rounding of autograd's gradient
    assert off_loss[0] == base_loss[0]
    np.testing.assert_allclose(off_loss, base_loss, rtol=1e-4)
    # switched on, it changes training and replay, and everything stays finite
    assert np.isfinite(on_loss).all() and np.isfinite(on_position).all()
    assert on_loss[0] != base_loss[0]
    assert not np.allclose(on_position, off_position)


def test_cell_names_are_registered_once(inhibition_cell):
    assert InhibitionParams(inhibition=0.5).cell == "rnn_inhibition"
    with pytest.raises(ValueError, match="already registered"):
        register_cell("rnn_inhibition", InhibitionRNN)
    with pytest.raises(ValueError, match="cell must be one of"):
        CellParams(cell="rnn_excitation")

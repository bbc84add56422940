"""The one recurrent cell of docs/methods.md#the-model, with its four knobs.

Discrete time, hidden state r (B, N), input u (B, D_in), readout o (B, C)::

    pre_t   = W_rec r_t + W_in u_t + b - a_t           # a_t: adaptation current
    dr_t    = leak * (-r_t + phi(pre_t)) + noise_t
    v_{t+1} = (1 - friction) * v_t + dr_t              # momentum (hidden-state velocity)
    r_{t+1} = r_t + v_{t+1}
    a_{t+1} = (1 - adapt_rate) * a_t + adapt_rate * adapt_strength * r_t
    o_t     = W_out r_{t+1} + c

``leak = 1`` replaces the state every step, ``friction = 1`` is the first-order cell exactly and
``adapt_strength = 0`` switches adaptation off. ``r_0 = W_enc f(s_0)``, ``v_0 = a_0 = 0``.

:meth:`NoisyRNN.step` is the cell's definition: these lines, one per mechanism, differentiated
by autograd. A fused loop with a hand-written backward (:mod:`rnnreplay.fused_cell`) computes
the same arithmetic faster; it is an optimisation, used only for cells it implements
(:func:`uses_fused_path`) and pinned to the step by tests/test_model_fast_path.py. On CUDA an
ensemble's training loops can also be replayed as CUDA graphs (:mod:`rnnreplay.cell_graphs`).

``cell: gru`` swaps in KR24's continuous-time GRU baseline (:class:`NoisyGRU`); :func:`make_cell`
builds the class registered for ``params.cell`` (:func:`register_cell` adds one).
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import NamedTuple

import torch
from torch import nn

from .fused_cell import FUSED_FIELDS, FUSED_PHI, CellSequence, run_cell
from .noise import NoiseStream, draw_noise
from .params import CELLS, NOISE_KINDS, NOISE_SCALINGS, CellParams  # noqa: F401  (re-exported)
from .rates import Knobs, acting_in, member_knobs

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "leaky_relu": nn.functional.leaky_relu}


def input_drive(layer: nn.Linear, inputs: torch.Tensor | None, batch: int, steps: int | None) -> torch.Tensor:
    """W_in u_t + b for every step, time-major (T, B, H), H = ``layer``'s output size.

    ``inputs`` (B, T, D_in), or None for zero input over ``steps`` steps (replay): then the drive
    is the bias alone, broadcast to (T, B, H) without memory (the same values as ``layer`` of
    zeros, which would allocate and fill T * B * H floats)."""
    if inputs is not None:
        return layer(inputs.transpose(0, 1))
    if steps is None:
        raise ValueError("zero input (inputs=None) needs the number of steps")
    bias = layer.bias if layer.bias is not None else layer.weight.new_zeros(layer.out_features)
    return bias.expand(steps, batch, layer.out_features)


class CellState(NamedTuple):
    """The cell's state at step t, each (B, N) in state units."""

    r: torch.Tensor  # hidden state r_t
    v: torch.Tensor  # velocity v_t (momentum)
    a: torch.Tensor  # adaptation current a_t


class NoisyRNN(nn.Module):
    """Noisy leaky RNN with optional adaptation and momentum; see the module docstring.

    Args:
        n_in: input size D_in (the displacement's dimension).
        n_out: readout size C (the target code's dimension); also the encoder's input size.
        params: the cell's knobs.
    """

    def __init__(self, n_in: int, n_out: int, params: CellParams):
        super().__init__()
        self.params = params
        n = params.hidden
        self.encoder = nn.Linear(n_out, n, bias=False)  # W_enc: start code -> r_0
        self.input = nn.Linear(n_in, n)  # W_in, b
        self.recurrent = nn.Linear(n, n, bias=False)  # W_rec
        self.readout = nn.Linear(n, n_out)  # W_out, c
        self.phi = ACTIVATIONS[params.activation]

    def step(self, state: CellState, drive_t: torch.Tensor, noise_t: torch.Tensor | float, knobs: Knobs) -> CellState:
        """One step of the cell: its definition, line by line the equations of docs/methods.md#the-model.

        Args:
            state: r_t, v_t, a_t, each (B, N).
            drive_t: (B, N) W_in u_t + b.
            noise_t: (B, N) the noise sigma xi_t of this step, or 0.0 for none.
            knobs: the rates this run uses (:meth:`knobs`).

        Returns:
            r_{t+1}, v_{t+1}, a_{t+1}, each (B, N).
        """
        r, v, a = state
        pre = r @ self.recurrent.weight.T + drive_t - a  # pre_t = W_rec r_t + W_in u_t + b - a_t
        dr = knobs.leak * (self.phi(pre) - r)  # leak: dr_t = lambda_r (phi(pre_t) - r_t) ...
        dr = dr + noise_t  # noise: ... + sigma xi_t
        v = (1.0 - knobs.friction) * v + dr  # momentum: v_{t+1} = (1 - lambda_v) v_t + dr_t
        a = (1.0 - knobs.adapt_rate) * a + knobs.adapt_rate * knobs.adapt_strength * r  # adaptation
        return CellState(r + v, v, a)  # r_{t+1} = r_t + v_{t+1}

    def sequence(self, r0: torch.Tensor, drive: torch.Tensor, knobs: Knobs, noise: NoiseStream,
                 progress=range) -> torch.Tensor:
        """The readable recurrence: :meth:`step` from (r_0, v_0 = 0, a_0 = 0) over every step.

        Args:
            r0: (B, N) initial state r_0.
            drive: (T, B, N) W_in u_t + b for every step (any strides).
            knobs: the rates this run uses.
            noise: the noise stream (``noise.step(t)`` (B, N); false when there is no noise).
            progress: called with T, returns the steps to iterate (see :meth:`forward`).

        Returns:
            hidden (T, B, N) = r_1..r_T.
        """
        state = CellState(r0, torch.zeros_like(r0), torch.zeros_like(r0))
        drives = drive.unbind(0)  # per-step views whose backward is one stack (not T full-size grads)
        hidden = []
        for t in progress(len(drives)):
            state = self.step(state, drives[t], noise.step(t) if noise else 0.0, knobs)
            hidden.append(state.r)
        return torch.stack(hidden)

    def knobs(self, adaptation: bool = True, momentum: bool = True) -> Knobs:
        """The rates of a run with these mechanism switches (off: b_a 0, lambda_v 1)."""
        p = self.params
        use_adaptation = adaptation and p.adapt_strength > 0
        return Knobs(leak=p.leak, friction=p.friction if momentum else 1.0,
                     adapt_rate=1.0 / p.adapt_tau if use_adaptation else 0.0, adapt_strength=p.adapt_strength)

    @property
    def fused(self) -> bool:
        """Whether :meth:`forward` takes the fused path: its knobs allow it (:func:`uses_fused_path`)
        and :meth:`step` is this class's own (a subclass that redefines the step runs its step)."""
        return type(self).step is NoisyRNN.step and uses_fused_path(self.params)

    def forward(
        self,
        inputs: torch.Tensor | None,
        start_code: torch.Tensor,
        *,
        steps: int | None = None,
        adaptation: bool = True,
        momentum: bool = True,
        noise_multiplier: float = 1.0,
        generator: torch.Generator | None = None,
        return_hidden: bool = False,
        progress=range,
        readable: bool = False,
    ):
        """Run the cell over a sequence.

        Args:
            inputs: (B, T, D_in) inputs u_t, or None for zero input (replay) over ``steps``.
            start_code: (B, C) code f(s_0); r_0 = W_enc f(s_0).
            steps: the number of steps T when ``inputs`` is None.
            adaptation, momentum: whether these mechanisms act (off = b_a 0, lambda_v 1).
            noise_multiplier: factor on the noise std (sqrt(2) in replay, 0 to switch it off).
            generator: torch generator for the noise (reproducible runs).
            return_hidden: also return the hidden states.
            progress: called with the number of steps, returns the steps to iterate (``range``;
                :func:`rnnreplay.progress.steps` shows a bar or log lines).
            readable: run the readable :meth:`sequence` even where the fused path applies (the
                results are the same; tests compare the two).

        Returns:
            outputs (B, T, C) readouts o_0..o_{T-1}, and hidden (B, T, N) r_1..r_T if asked.
        """
        p = self.params
        batch = start_code.shape[0]
        r = self.encoder(start_code)  # (B, N): r_0
        # (T, B, N): W_in u_t + b for every step at once, time-major so that step t is contiguous
        drive = input_drive(self.input, inputs, batch, steps)
        steps = drive.shape[0]
        knobs = self.knobs(adaptation, momentum)
        noise = NoiseStream(p.noise, (steps, batch, p.hidden), p.noise_std * noise_multiplier, r, generator)
        weight = self.recurrent.weight  # (N, N); pre = r @ weight.T
        if readable or not self.fused:
            hidden_tbn = self.sequence(r, drive, knobs, noise, progress)
        elif torch.is_grad_enabled() and any(x.requires_grad for x in (r, drive, weight)):
            hidden_tbn = CellSequence.apply(r, drive, weight, knobs, p.activation, noise)
        else:
            hidden_tbn, _ = run_cell(r, drive, weight, knobs, p.activation, noise, keep_pre=False,
                                     steps_iter=progress(steps))
        outputs = self.readout(hidden_tbn).transpose(0, 1)  # (B, T, C): one product over time
        hidden = hidden_tbn.transpose(0, 1)  # (B, T, N) view of the time-major buffer
        return (outputs, hidden) if return_hidden else outputs


class Ensemble(nn.Module):
    """S networks of one cell (the same class and knobs, each with its own weights) run side by
    side, each exactly as it would run alone: the seeds of one variant trained in one process.

    On the fused path the recurrence of all members is one loop over time whose products are
    batched over a leading member axis (weights (S, N, N)); the input drive, readout and the
    gradient of W_rec are each member's own products; on CPU the batched products are bitwise
    the per-member ones, so each member's outputs and gradients equal its single-network run bit
    for bit (tests/test_ensemble.py). A cell the fused path does not run (a GRU, a readable cell)
    runs member by member.

    Args:
        members: the S networks.
    """

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)
        # when set (a rnnreplay.cell_graphs.CellGraphs), the fused training loops run through it
        self.graphs = None

    @property
    def fused(self) -> bool:
        """Whether the members run as one batched fused loop: all fused :class:`NoisyRNN` of one
        width, activation and noise kind (their leak, adaptation, momentum and noise std may
        differ: :meth:`forward` then passes them as per-member tensors)."""
        first = self.members[0]
        shared = lambda p: (p.hidden, p.activation, p.noise)  # noqa: E731
        return all(isinstance(m, NoisyRNN) and m.fused and shared(m.params) == shared(first.params)
                   for m in self.members)

    def forward(self, inputs: list, start_code: list, *, steps: int | None = None, adaptation: bool = True,
                momentum: bool = True, noise_multiplier: float = 1.0, generators: list | None = None,
                return_hidden: bool = False, progress=range):
        """Run every member; see :meth:`NoisyRNN.forward`.

        Args:
            inputs: S inputs (B, T, D_in), or None for zero input over ``steps``.
            start_code: S start codes (B, C).
            adaptation, momentum: as :meth:`NoisyRNN.forward`, for every member, or S of them.
            generators: S torch generators, one noise stream per member (None: the global one).

        Members with equal knobs run the very arithmetic of a network alone (bitwise on CPU);
        members whose knobs differ (other variants of a task, trained side by side) run with
        per-member rate tensors, equal to their single runs to float32 rounding.

        Returns:
            S outputs (B, T, C), and S hidden (B, T, N) if asked.
        """
        size = len(self.members)
        inputs = [None] * size if inputs is None else inputs
        generators = [None] * size if generators is None else generators
        adaptations = list(adaptation) if isinstance(adaptation, (list, tuple)) else [adaptation] * size
        momenta = list(momentum) if isinstance(momentum, (list, tuple)) else [momentum] * size
        if not self.fused or any(g is None for g in generators):
            runs = [m(u, c, steps=steps, generator=g, return_hidden=True, progress=progress, adaptation=ad,
                      momentum=mo, noise_multiplier=noise_multiplier)
                    for m, u, c, g, ad, mo in zip(self.members, inputs, start_code, generators, adaptations, momenta)]
            outputs, hidden = [o for o, _ in runs], [h for _, h in runs]
            return (outputs, hidden) if return_hidden else outputs
        first = self.members[0]
        p, batch = first.params, start_code[0].shape[0]
        # Member-major buffers (S, T, B, N): each member's slice is a network's own contiguous
        # (T, B, N) tensor (its readout, drive gradient and W_rec gradient take the very code path
        # of a network alone); each step's (S, B, N) is a strided view.
        r0 = torch.stack([m.encoder(c) for m, c in zip(self.members, start_code)])  # (S, B, N): r_0
        drive = torch.stack([input_drive(m.input, u, batch, steps) for m, u in zip(self.members, inputs)])
        each = [m.knobs(ad, mo) for m, ad, mo in zip(self.members, adaptations, momenta)]
        knobs = each[0] if all(k == each[0] for k in each) else member_knobs(each, r0)
        mechanisms = acting_in(each)  # from the floats: no read-back of a device tensor
        stds = [m.params.noise_std * noise_multiplier for m in self.members]
        steps = drive.shape[1]
        noise = NoiseStream(p.noise, (r0.shape[0], steps) + r0.shape[1:], stds[0] if len(set(stds)) == 1 else stds,
                            r0, generators)
        weight = torch.stack([m.recurrent.weight for m in self.members])  # (S, N, N)
        training = torch.is_grad_enabled() and any(x.requires_grad for x in (r0, drive, weight))
        if training and self.graphs is not None:
            hidden_stbn = self.graphs(r0, drive, weight, knobs, p.activation, noise, mechanisms)
        elif training:
            hidden_stbn = CellSequence.apply(r0, drive, weight, knobs, p.activation, noise, mechanisms)
        else:
            hidden_stbn, _ = run_cell(r0, drive, weight, knobs, p.activation, noise, keep_pre=False,
                                      steps_iter=progress(steps), mechanisms=mechanisms)
        members = hidden_stbn.unbind(0)  # S x (T, B, N), contiguous
        outputs = [m.readout(h).transpose(0, 1) for m, h in zip(self.members, members)]  # S x (B, T, C)
        return (outputs, [h.transpose(0, 1) for h in members]) if return_hidden else outputs


def uses_fused_path(params: CellParams) -> bool:
    """Whether :class:`NoisyRNN` runs a cell with these knobs on the fused path: ``cell: rnn``,
    a phi the fused path knows exactly (``ACTIVATIONS[activation]`` is its own function), and
    every field outside :data:`FUSED_FIELDS` (a mechanism it does not implement, e.g. one a
    :class:`CellParams` subclass adds) at its default, i.e. switched off."""
    phi = FUSED_PHI.get(params.activation)
    if params.cell != "rnn" or phi is None or ACTIVATIONS.get(params.activation) is not phi:
        return False
    return all(f.name in FUSED_FIELDS or getattr(params, f.name) == _default(f) for f in fields(params))


def _default(field):
    """A dataclass field's default value (MISSING when it has none)."""
    return field.default if field.default_factory is MISSING else field.default_factory()


class NoisyGRU(nn.Module):
    """KR24's continuous-time GRU with additive hidden noise, hidden state h (B, N)::

        z_t = sigmoid(W_z u_t + U_z h_t + b_z)            # update gate
        g_t = sigmoid(W_g u_t + U_g h_t + b_g)            # reset gate
        c_t = phi(W_h u_t + U_h (g_t * h_t) + b_h)        # candidate (phi = tanh in KR24)
        h_{t+1} = h_t + leak * (1 - z_t) * (c_t - h_t) + noise_t
        o_t = W_out h_{t+1} + c

    ``h_0 = W_enc f(s_0)``. Same call signature as :class:`NoisyRNN`; ``adaptation`` and
    ``momentum`` are accepted and ignored (the GRU has neither).
    """

    def __init__(self, n_in: int, n_out: int, params: CellParams):
        super().__init__()
        self.params = params
        n = params.hidden
        self.encoder = nn.Linear(n_out, n, bias=False)  # W_enc
        self.input = nn.Linear(n_in, 3 * n)  # W_z, W_g, W_h and the biases, stacked
        self.recurrent_gates = nn.Linear(n, 2 * n, bias=False)  # U_z, U_g
        self.recurrent = nn.Linear(n, n, bias=False)  # U_h
        self.readout = nn.Linear(n, n_out)  # W_out, c
        self.phi = ACTIVATIONS[params.activation]

    def forward(self, inputs, start_code, *, steps=None, adaptation=True, momentum=True, noise_multiplier=1.0,
                generator=None, return_hidden=False, progress=range):
        """Run the GRU: inputs (B, T, D_in) (or None: zero input over ``steps``), start_code (B, C)
        -> outputs (B, T, C) and, if asked, hidden (B, T, N); see :meth:`NoisyRNN.forward`."""
        p = self.params
        batch = start_code.shape[0]
        n = p.hidden
        h = self.encoder(start_code)  # (B, N)
        # (T, B, 3N): every step's input drive in one product, time-major so step t is contiguous
        drive = input_drive(self.input, inputs, batch, steps)
        steps = drive.shape[0]
        # unbind: per-step views whose backward is one stack (indexing drive[t] instead would make
        # autograd build a zero-filled (T, B, 3N) gradient for every step)
        drive_gates, drive_candidate = drive[..., : 2 * n].unbind(0), drive[..., 2 * n:].unbind(0)
        u_gates, u_h = self.recurrent_gates.weight.T, self.recurrent.weight.T  # (N, 2N), (N, N)
        noise = draw_noise(p.noise, (steps, batch, n), p.noise_std * noise_multiplier, h, generator)
        states = []
        for t in progress(steps):
            gates = torch.sigmoid(torch.addmm(drive_gates[t], h, u_gates))  # z and g in one product
            z, g = gates[:, :n], gates[:, n:]
            candidate = self.phi(torch.addmm(drive_candidate[t], g * h, u_h))
            h = torch.addcmul(h, 1 - z, candidate - h, value=p.leak)  # h + leak (1 - z) (c - h)
            if noise is not None:
                h = h + noise[t]
            states.append(h)
        hidden = torch.stack(states, dim=1)  # (B, T, N)
        outputs = self.readout(hidden)
        return (outputs, hidden) if return_hidden else outputs


CELL_CLASSES: dict[str, type[nn.Module]] = {"rnn": NoisyRNN, "gru": NoisyGRU}  # params.cell -> model class


def register_cell(name: str, cls: type[nn.Module]) -> None:
    """Make ``cell: name`` build ``cls`` (called as ``cls(n_in=, n_out=, params=)``, e.g. a
    :class:`NoisyRNN` subclass with its own step): :func:`make_cell` looks it up and
    :class:`CellParams` accepts the name."""
    if name in CELL_CLASSES:
        raise ValueError(f"cell {name!r} is already registered")
    CELL_CLASSES[name] = cls
    CELLS.append(name)


def make_cell(n_in: int, n_out: int, params: CellParams) -> nn.Module:
    """The model the knobs ask for: the class registered for ``params.cell`` (:class:`NoisyRNN`
    for ``rnn``, :class:`NoisyGRU` for ``gru``), input size ``n_in``, readout size ``n_out``."""
    return CELL_CLASSES[params.cell](n_in=n_in, n_out=n_out, params=params)

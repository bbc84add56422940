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
by autograd. A fused loop with a hand-written backward (``_run_cell``, ``_CellSequence``) computes
the same arithmetic faster; it is an optimisation, used only for cells it implements
(:func:`uses_fused_path`) and pinned to the step by tests/test_model_fast_path.py.

``cell: gru`` swaps in KR24's continuous-time GRU baseline (:class:`NoisyGRU`); :func:`make_cell`
builds the class registered for ``params.cell`` (:func:`register_cell` adds one).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import NamedTuple

import torch
from torch import nn

from .params import CELLS, NOISE_KINDS, NOISE_SCALINGS, CellParams  # noqa: F401  (re-exported)

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


@dataclass(frozen=True)
class Knobs:
    """The mechanism rates one run uses, the mechanism switches applied (off: friction 1,
    adapt_rate 0). Dimensionless, per step. Each is a float, or for an ensemble whose members
    differ in their knobs an (S, 1, 1) float32 tensor, member s's rate in row s
    (:func:`member_knobs`)."""

    leak: float  # lambda_r
    friction: float  # lambda_v (1 = no momentum)
    adapt_rate: float  # lambda_a = 1 / tau_a (0 = adaptation off)
    adapt_strength: float  # b_a


def member_knobs(knobs: list[Knobs], like: torch.Tensor) -> Knobs:
    """The knobs of S members that differ, as one :class:`Knobs` of (S, 1, 1) tensors (``like``'s
    device and dtype) that broadcast over an ensemble's (S, B, N) state."""
    column = lambda name: torch.tensor([getattr(k, name) for k in knobs], device=like.device,  # noqa: E731
                                       dtype=like.dtype).view(-1, 1, 1)
    return Knobs(leak=column("leak"), friction=column("friction"), adapt_rate=column("adapt_rate"),
                 adapt_strength=column("adapt_strength"))


def _uses(flags) -> bool:
    """Whether a mechanism acts: a bool, or for per-member knobs a bool tensor (any member)."""
    return bool(flags.any()) if isinstance(flags, torch.Tensor) else bool(flags)


def _add_scaled(y: torch.Tensor, x: torch.Tensor, scale) -> torch.Tensor:
    """y += scale * x in place: ``scale`` a float (torch's ``alpha``) or a per-member tensor."""
    return y.addcmul_(x, scale) if isinstance(scale, torch.Tensor) else y.add_(x, alpha=scale)


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

    def sequence(self, r0: torch.Tensor, drive: torch.Tensor, knobs: Knobs, noise: _NoiseStream,
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
        noise = _NoiseStream(p.noise, (steps, batch, p.hidden), p.noise_std * noise_multiplier, r, generator)
        weight = self.recurrent.weight  # (N, N); pre = r @ weight.T
        if readable or not self.fused:
            hidden_tbn = self.sequence(r, drive, knobs, noise, progress)
        elif torch.is_grad_enabled() and any(x.requires_grad for x in (r, drive, weight)):
            hidden_tbn = _CellSequence.apply(r, drive, weight, knobs, p.activation, noise)
        else:
            hidden_tbn, _ = _run_cell(r, drive, weight, knobs, p.activation, noise, keep_pre=False,
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
        stds = [m.params.noise_std * noise_multiplier for m in self.members]
        steps = drive.shape[1]
        noise = _NoiseStream(p.noise, (r0.shape[0], steps) + r0.shape[1:], stds[0] if len(set(stds)) == 1 else stds,
                             r0, generators)
        weight = torch.stack([m.recurrent.weight for m in self.members])  # (S, N, N)
        if torch.is_grad_enabled() and any(x.requires_grad for x in (r0, drive, weight)):
            hidden_stbn = _CellSequence.apply(r0, drive, weight, knobs, p.activation, noise)
        else:
            hidden_stbn, _ = _run_cell(r0, drive, weight, knobs, p.activation, noise, keep_pre=False,
                                       steps_iter=progress(steps))
        members = hidden_stbn.unbind(0)  # S x (T, B, N), contiguous
        outputs = [m.readout(h).transpose(0, 1) for m, h in zip(self.members, members)]  # S x (B, T, C)
        return (outputs, [h.transpose(0, 1) for h in members]) if return_hidden else outputs


# --- the noise: one random stream for both paths -------------------------------------------------


def draw_noise(kind: str, shape, std: float, like: torch.Tensor, generator, out: torch.Tensor | None = None):
    """Hidden noise of the given ``shape``: ``std`` times N(0, 1) (``gaussian``) or U[0, 1)
    (``uniform01``), on ``like``'s device and dtype (into the contiguous ``out`` if given: the same
    draws as a fresh tensor); None when ``std`` is 0."""
    if std == 0:
        return None
    z = out if out is not None else torch.empty(shape, device=like.device, dtype=like.dtype)
    if kind == "gaussian":
        z.normal_(generator=generator)  # what torch.randn does
    else:
        z.uniform_(generator=generator)  # what torch.rand does
    return z.mul_(std)  # in place: the same values as std * z without a second buffer


class _NoiseStream:
    """The noise ``std * z`` of a (T, B, N) sequence, drawn in chunks of steps; or of an ensemble's
    (S, T, B, N) sequence, member s drawing its own (T, B, N) stream from ``generator[s]`` exactly
    as it would alone (into its own contiguous slice of a member-major block).

    On CPU, ``normal_``/``uniform_`` fill chunks whose size is a multiple of 16 exactly as one
    draw of the whole tensor would, so chunking keeps the random stream (and results) identical
    while holding only a chunk in memory; otherwise the whole sequence is drawn at once.
    """

    chunk_elements = 1 << 22  # about 16 MB of float32 per chunk (per member)

    def __init__(self, kind: str, shape, std, like, generator):
        self.kind, self.shape, self.std, self.like, self.generator = kind, shape, std, like, generator
        self.members = isinstance(generator, (list, tuple))
        steps, batch, hidden = shape[1 if self.members else 0], shape[-2], shape[-1]
        self.steps = steps
        per_step = batch * hidden  # one member's
        chunked = like.device.type == "cpu" and per_step % 16 == 0
        self.chunk = max(1, self.chunk_elements // max(per_step, 1)) if chunked else steps
        self._start, self._block, self._length = None, None, 0

    def __bool__(self):
        return any(s != 0 for s in self.std) if isinstance(self.std, (list, tuple)) else self.std != 0

    def step(self, t: int) -> torch.Tensor:
        """Noise of step t ((B, N), or (S, B, N) for an ensemble); steps must be asked for in
        increasing order."""
        if self._start is None or not self._start <= t < self._start + self._length:
            n = min(self.chunk, self.steps - t)
            member = (n,) + tuple(self.shape[-2:])
            if self.members:  # (S, n, B, N): each member's own stream, drawn into its own slice
                self._block = self.like.new_empty((len(self.generator),) + member)
                stds = self.std if isinstance(self.std, (list, tuple)) else [self.std] * len(self.generator)
                for block, g, std in zip(self._block, self.generator, stds):
                    if draw_noise(self.kind, member, std, self.like, g, out=block) is None:
                        block.zero_()  # a noiseless member beside noisy ones
            else:
                self._block = draw_noise(self.kind, member, self.std, self.like, self.generator)
            self._start, self._length = t, n
        return self._block[:, t - self._start] if self.members else self._block[t - self._start]


# --- the fused path: the recurrence written for speed -------------------------------------------
# _run_cell does exactly the arithmetic of NoisyRNN.step (the same operations in the same order,
# skipping those that a switched-off mechanism makes identities), so its forward outputs are
# bitwise those of NoisyRNN.sequence; but it writes into preallocated time-major buffers, and
# _CellSequence gives it a hand-written backward: per step one (B, N) x (N, N) product and a few
# in-place elementwise ops; the gradient of W_rec is one (N, T*B) x (T*B, N) product after the
# loop. It implements only the CellParams fields in FUSED_FIELDS and the activations in
# _FUSED_PHI: any other cell runs the readable step, so a new mechanism never gets a wrong gradient.

FUSED_FIELDS = frozenset({"hidden", "activation", "leak", "adapt_strength", "adapt_tau", "friction", "sigma",
                          "noise_scaling", "noise", "cell"})
# phi the fused path computes and differentiates itself (leaky_relu: torch's default slope 0.01)
_FUSED_PHI = {"relu": torch.relu, "tanh": torch.tanh, "leaky_relu": nn.functional.leaky_relu}


def uses_fused_path(params: CellParams) -> bool:
    """Whether :class:`NoisyRNN` runs a cell with these knobs on the fused path: ``cell: rnn``,
    a phi the fused path knows exactly (``ACTIVATIONS[activation]`` is its own function), and
    every field outside :data:`FUSED_FIELDS` (a mechanism it does not implement, e.g. one a
    :class:`CellParams` subclass adds) at its default, i.e. switched off."""
    phi = _FUSED_PHI.get(params.activation)
    if params.cell != "rnn" or phi is None or ACTIVATIONS.get(params.activation) is not phi:
        return False
    return all(f.name in FUSED_FIELDS or getattr(params, f.name) == _default(f) for f in fields(params))


def _default(field):
    """A dataclass field's default value (MISSING when it has none)."""
    return field.default if field.default_factory is MISSING else field.default_factory()


def _activate(pre: torch.Tensor, activation: str, out: torch.Tensor) -> torch.Tensor:
    """out = phi(pre), for the activations in ``_FUSED_PHI``."""
    if activation == "relu":
        return torch.clamp_min(pre, 0, out=out)  # what torch.relu computes
    if activation == "tanh":
        return torch.tanh(pre, out=out)
    if activation == "leaky_relu":
        return out.copy_(nn.functional.leaky_relu(pre))
    raise ValueError(f"the fused path does not implement activation {activation!r}")


def _activation_grad(grad: torch.Tensor, pre: torch.Tensor, activation: str, out: torch.Tensor) -> torch.Tensor:
    """out = grad * phi'(pre), for the activations in ``_FUSED_PHI``."""
    if activation == "relu":
        return torch.ops.aten.threshold_backward.grad_input(grad, pre, 0, grad_input=out)
    if activation == "tanh":
        t = torch.tanh(pre)
        return torch.mul(grad, 1 - t * t, out=out)
    if activation == "leaky_relu":
        return out.copy_(torch.ops.aten.leaky_relu_backward(grad, pre, 0.01, False))  # default slope 0.01
    raise ValueError(f"the fused path does not implement activation {activation!r}")


def _step(x: torch.Tensor, t: int, members: bool) -> torch.Tensor:
    """Step t of a sequence: x[t] of a time-major (T, B, N), x[:, t] of a member-major (S, T, B, N)."""
    return x[:, t] if members else x[t]


def _run_cell(r0, drive, weight, k: Knobs, activation: str, noise: _NoiseStream, keep_pre: bool, steps_iter=None):
    """Forward recurrence. r0 (B, N), drive (T, B, N) (any strides), weight (N, N); or, for an
    ensemble of S networks, r0 (S, B, N), drive (S, T, B, N) and weight (S, N, N), whose batched
    products are on CPU bitwise the per-member products (tests/test_ensemble.py).

    ``steps_iter`` iterates over 0..T-1 (default ``range(T)``; a progress iterator in replay).
    Returns hidden ([S,] T, B, N) = r_1..r_T and, if ``keep_pre``, pre (same shape) for the backward.
    """
    members = weight.dim() == 3
    steps = drive.shape[1 if members else 0]
    shape = (r0.shape[0], steps) + r0.shape[1:] if members else (steps,) + r0.shape
    hidden = r0.new_empty(shape)
    pres = r0.new_empty(shape) if keep_pre else None
    pre_buf = None if keep_pre else torch.empty_like(r0)
    dr = torch.empty_like(r0)
    matmul = torch.bmm if members else torch.mm
    momentum = _uses(k.friction != 1.0)
    adapting = _uses(k.adapt_rate > 0)
    adapt_scale = k.adapt_rate * k.adapt_strength  # lambda_a b_a
    v = torch.zeros_like(r0) if momentum else None
    a = torch.zeros_like(r0) if adapting else None
    tmp = torch.empty_like(r0) if adapting else None
    w_t = weight.transpose(-2, -1)
    r = r0
    for t in steps_iter if steps_iter is not None else range(steps):
        pre = _step(pres, t, members) if keep_pre else pre_buf
        matmul(r, w_t, out=pre)  # pre_t = W_rec r_t + W_in u_t + b - a_t
        pre.add_(_step(drive, t, members))
        if adapting:
            pre.sub_(a)
        _activate(pre, activation, dr)  # dr_t = leak (phi(pre_t) - r_t) + noise_t
        dr.sub_(r).mul_(k.leak)
        if noise:
            dr.add_(noise.step(t))
        if momentum:  # v_{t+1} = (1 - lambda_v) v_t + dr_t
            v.mul_(1.0 - k.friction).add_(dr)
        if adapting:  # a_{t+1} = (1 - lambda_a) a_t + lambda_a b_a r_t
            torch.mul(r, adapt_scale, out=tmp)
            a.mul_(1.0 - k.adapt_rate).add_(tmp)
        r = torch.add(r, v if momentum else dr, out=_step(hidden, t, members))  # r_{t+1} = r_t + v_{t+1}
    return hidden, pres


class _CellSequence(torch.autograd.Function):
    """The recurrence with a hand-written backward (adjoint recursion, see ``backward``)."""

    @staticmethod
    def forward(ctx, r0, drive, weight, knobs, activation, noise):
        hidden, pres = _run_cell(r0, drive, weight, knobs, activation, noise, keep_pre=True)
        ctx.knobs, ctx.activation = knobs, activation
        ctx.save_for_backward(r0, weight, hidden, pres)
        return hidden

    @staticmethod
    def backward(ctx, grad_hidden):
        """Adjoints lr, lv, la of r_{t+1}, v_{t+1}, a_{t+1}, from t = T-1 down to 0:

            lr += dL/dr_{t+1};  gv = lv + lr;  g_pre = leak gv phi'(pre_t)
            lr <- lr - leak gv + g_pre W_rec + lambda_a b_a la;  la <- (1 - lambda_a) la - g_pre
            lv <- (1 - lambda_v) gv
        and dL/dW_rec = sum_t g_pre_t^T r_t, dL/d drive_t = g_pre_t, dL/dr_0 = lr.
        """
        r0, weight, hidden, pres = ctx.saved_tensors
        k = ctx.knobs
        members = weight.dim() == 3
        steps = hidden.shape[1 if members else 0]
        momentum, adapting = _uses(k.friction != 1.0), _uses(k.adapt_rate > 0)
        adapt_scale = k.adapt_rate * k.adapt_strength  # lambda_a b_a
        g_pre = torch.empty_like(hidden)  # ([S,] T, B, N): also the gradient of drive
        lr = torch.zeros_like(r0)
        lv = torch.zeros_like(r0) if momentum else None
        la = torch.zeros_like(r0) if adapting else None
        gv = torch.empty_like(r0) if momentum else lr
        for t in range(steps - 1, -1, -1):
            lr.add_(_step(grad_hidden, t, members))
            if momentum:
                torch.add(lv, lr, out=gv)
            g = _step(g_pre, t, members)
            _activation_grad(gv, _step(pres, t, members), ctx.activation, out=g)
            g.mul_(k.leak)
            if momentum:
                if isinstance(k.leak, torch.Tensor):  # members with their own leak
                    lr.addcmul_(gv, k.leak, value=-1.0)
                else:
                    lr.sub_(gv, alpha=k.leak)
                torch.mul(gv, 1.0 - k.friction, out=lv)
            else:
                lr.mul_(1.0 - k.leak)
            if members:
                lr.baddbmm_(g, weight)
            else:
                lr.addmm_(g, weight)
            if adapting:
                _add_scaled(lr, la, adapt_scale)
                la.mul_(1.0 - k.adapt_rate).sub_(g)
        grad_weight = None
        if ctx.needs_input_grad[2]:
            if members:  # per member, the very products a network alone computes
                grad_weight = torch.stack([_recurrent_weight_grad(g_pre[s], r0[s], hidden[s])
                                           for s in range(weight.shape[0])])
            else:
                grad_weight = _recurrent_weight_grad(g_pre, r0, hidden)
        grad_drive = g_pre if ctx.needs_input_grad[1] else None
        return lr, grad_drive, grad_weight, None, None, None


def _recurrent_weight_grad(g_pre: torch.Tensor, r0: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """dL/dW_rec = sum_t g_pre_t^T r_t: g_pre and hidden (T, B, N) (any strides), r0 (B, N) -> (N, N);
    one (N, T*B) x (T*B, N) product after the first step's."""
    n = hidden.shape[-1]
    grad = g_pre[0].T @ r0
    if len(hidden) > 1:
        grad.addmm_(g_pre[1:].reshape(-1, n).T, hidden[:-1].reshape(-1, n))
    return grad


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

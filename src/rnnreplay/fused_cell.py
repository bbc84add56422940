"""The fused path: the cell's recurrence written for speed.

:func:`run_cell` does exactly the arithmetic of :meth:`rnnreplay.model.NoisyRNN.step` (the same
operations in the same order, skipping those that a switched-off mechanism makes identities), so
its forward outputs are bitwise those of the readable step; but it writes into preallocated
time-major buffers, and :class:`CellSequence` gives it a hand-written backward
(:func:`cell_backward`): per step one (B, N) x (N, N) product and a few in-place elementwise ops;
the gradient of W_rec is one (N, T*B) x (T*B, N) product after the loop
(:func:`recurrent_weight_grad`). It implements only the CellParams fields in
:data:`FUSED_FIELDS` and the activations in :data:`FUSED_PHI`: any other cell runs the readable
step (:func:`rnnreplay.model.uses_fused_path`), so a new mechanism never gets a wrong gradient.

Neither loop reads a value back from the device when it is told which mechanisms act
(``acting``), so both can be captured as CUDA graphs (:mod:`rnnreplay.cell_graphs`).
"""

from __future__ import annotations

import torch
from torch import nn

from .noise import NoiseStream
from .rates import Acting, Knobs, acting, add_scaled

FUSED_FIELDS = frozenset({"hidden", "activation", "leak", "adapt_strength", "adapt_tau", "friction", "sigma",
                          "noise_scaling", "noise", "cell"})
# phi the fused path computes and differentiates itself (leaky_relu: torch's default slope 0.01)
FUSED_PHI = {"relu": torch.relu, "tanh": torch.tanh, "leaky_relu": nn.functional.leaky_relu}


def activate(pre: torch.Tensor, activation: str, out: torch.Tensor) -> torch.Tensor:
    """out = phi(pre), for the activations in :data:`FUSED_PHI`."""
    if activation == "relu":
        return torch.clamp_min(pre, 0, out=out)  # what torch.relu computes
    if activation == "tanh":
        return torch.tanh(pre, out=out)
    if activation == "leaky_relu":
        return out.copy_(nn.functional.leaky_relu(pre))
    raise ValueError(f"the fused path does not implement activation {activation!r}")


def activation_grad(grad: torch.Tensor, pre: torch.Tensor, activation: str, out: torch.Tensor) -> torch.Tensor:
    """out = grad * phi'(pre), for the activations in :data:`FUSED_PHI`."""
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


class BlockNoise:
    """Noise already drawn for every step, ([S,] T, B, N), read like a :class:`NoiseStream`."""

    def __init__(self, block: torch.Tensor | None, members: bool):
        self.block, self.members = block, members

    def __bool__(self):
        return self.block is not None

    def step(self, t: int) -> torch.Tensor:
        """Noise of step t ((B, N), or (S, B, N) for an ensemble)."""
        return _step(self.block, t, self.members)


def run_cell(r0, drive, weight, k: Knobs, activation: str, noise: NoiseStream | BlockNoise, keep_pre: bool,
             steps_iter=None, mechanisms: Acting | None = None):
    """Forward recurrence. r0 (B, N), drive (T, B, N) (any strides), weight (N, N); or, for an
    ensemble of S networks, r0 (S, B, N), drive (S, T, B, N) and weight (S, N, N), whose batched
    products are on CPU bitwise the per-member products (tests/test_ensemble.py).

    ``steps_iter`` iterates over 0..T-1 (default ``range(T)``; a progress iterator in replay).
    ``mechanisms``: which mechanisms act (default: read from ``k``).
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
    momentum, adapting = mechanisms if mechanisms is not None else acting(k)
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
        activate(pre, activation, dr)  # dr_t = leak (phi(pre_t) - r_t) + noise_t
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


def cell_backward(grad_hidden, weight, pres, k: Knobs, activation: str, mechanisms: Acting):
    """The adjoint recursion of :func:`run_cell`: grad_hidden, pres ([S,] T, B, N) and weight
    ([S,] N, N) -> (dL/dr_0 ([S,] B, N), g_pre ([S,] T, B, N)), g_pre being dL/d pre_t, which is
    also the gradient of the drive. Adjoints lr, lv, la of r_{t+1}, v_{t+1}, a_{t+1}, from
    t = T-1 down to 0::

        lr += dL/dr_{t+1};  gv = lv + lr;  g_pre = leak gv phi'(pre_t)
        lr <- lr - leak gv + g_pre W_rec + lambda_a b_a la;  la <- (1 - lambda_a) la - g_pre
        lv <- (1 - lambda_v) gv
    """
    members = weight.dim() == 3
    steps = pres.shape[1 if members else 0]
    momentum, adapting = mechanisms
    adapt_scale = k.adapt_rate * k.adapt_strength  # lambda_a b_a
    g_pre = torch.empty_like(pres)  # ([S,] T, B, N): also the gradient of drive
    state = _step(pres, 0, members).shape  # ([S,] B, N)
    lr = pres.new_zeros(state)
    lv = pres.new_zeros(state) if momentum else None
    la = pres.new_zeros(state) if adapting else None
    gv = pres.new_empty(state) if momentum else lr
    for t in range(steps - 1, -1, -1):
        lr.add_(_step(grad_hidden, t, members))
        if momentum:
            torch.add(lv, lr, out=gv)
        g = _step(g_pre, t, members)
        activation_grad(gv, _step(pres, t, members), activation, out=g)
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
            add_scaled(lr, la, adapt_scale)
            la.mul_(1.0 - k.adapt_rate).sub_(g)
    return lr, g_pre


def weight_grad(g_pre: torch.Tensor, r0: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """dL/dW_rec of a network, (N, N), or of an ensemble, (S, N, N) (per member, the very products
    a network alone computes); shapes as :func:`recurrent_weight_grad`, with a leading S."""
    if g_pre.dim() == 4:
        return torch.stack([recurrent_weight_grad(g_pre[s], r0[s], hidden[s]) for s in range(g_pre.shape[0])])
    return recurrent_weight_grad(g_pre, r0, hidden)


def recurrent_weight_grad(g_pre: torch.Tensor, r0: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """dL/dW_rec = sum_t g_pre_t^T r_t: g_pre and hidden (T, B, N) (any strides), r0 (B, N) -> (N, N);
    one (N, T*B) x (T*B, N) product after the first step's."""
    n = hidden.shape[-1]
    grad = g_pre[0].T @ r0
    if len(hidden) > 1:
        grad.addmm_(g_pre[1:].reshape(-1, n).T, hidden[:-1].reshape(-1, n))
    return grad


class CellSequence(torch.autograd.Function):
    """The recurrence with a hand-written backward (:func:`cell_backward`).

    ``apply(r0, drive, weight, knobs, activation, noise[, mechanisms])`` -> hidden ([S,] T, B, N)."""

    @staticmethod
    def forward(ctx, r0, drive, weight, knobs, activation, noise, mechanisms=None):
        mechanisms = mechanisms if mechanisms is not None else acting(knobs)
        hidden, pres = run_cell(r0, drive, weight, knobs, activation, noise, keep_pre=True, mechanisms=mechanisms)
        ctx.knobs, ctx.activation, ctx.mechanisms = knobs, activation, mechanisms
        ctx.save_for_backward(r0, weight, hidden, pres)
        return hidden

    @staticmethod
    def backward(ctx, grad_hidden):
        r0, weight, hidden, pres = ctx.saved_tensors
        lr, g_pre = cell_backward(grad_hidden, weight, pres, ctx.knobs, ctx.activation, ctx.mechanisms)
        grad_weight = weight_grad(g_pre, r0, hidden) if ctx.needs_input_grad[2] else None
        grad_drive = g_pre if ctx.needs_input_grad[1] else None
        return lr, grad_drive, grad_weight, None, None, None, None

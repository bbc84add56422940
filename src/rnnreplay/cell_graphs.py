"""The fused training loops replayed as CUDA graphs: few launches per training step.

On a GPU the fused recurrence (:mod:`rnnreplay.fused_cell`) launches about ten small kernels per
time step forward and as many backward; at the default shapes the GPU spends more time waiting
for Python and the launches than computing. :class:`CellGraphs` captures each loop once per
shape (the forward over all T steps, and its backward) as a CUDA graph and then replays it: one
launch per loop, each replay the very kernels of the eager loop on the same inputs.

What a replay needs to stay equal to the eager loop, and how it is kept:

- Inputs live in static buffers: each call copies r0, the drive, the weights, the per-member rates
  and the noise into the buffers the graph reads; each output is copied out of the graph's
  buffers, so a later replay cannot overwrite a tensor autograd still holds.
- No random draw inside the graph: the noise of the whole sequence is drawn before the replay
  (:meth:`rnnreplay.noise.NoiseStream.whole`, the same draws as the eager loop's) and copied in.
- Nothing reads a device value back during capture: which mechanisms act comes in as plain bools.
- Float rates are constants inside the graph: they are part of the key under which it is cached.

Without capture (``capture=False``, and on CPU) the same static-buffer path runs the loops
eagerly, which is what the CPU tests check against the plain fused path, bit for bit; the
agreement of a captured replay with the eager loop on a GPU is checked by
``tests/benchmarks/bench_gpu.py`` (section ``graphs``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .fused_cell import BlockNoise, cell_backward, run_cell, weight_grad
from .noise import NoiseStream
from .rates import Acting, Knobs

WARMUP_CALLS = 2  # eager calls on a side stream before a capture (library handles, workspaces)


class StaticCall:
    """``fn(*buffers) -> tuple of tensors`` over static input buffers, captured as a CUDA graph and
    replayed (``capture=True``), or called eagerly on the same buffers (``capture=False``).

    Args:
        fn: the function; it must not read device values back, draw random numbers or keep
            references to its inputs beyond the call.
        example: tensors shaped like every later call's inputs (None for an absent input): the
            static buffers are copies of them.
        capture: whether to capture (CUDA only).
    """

    def __init__(self, fn: Callable, example: tuple, capture: bool):
        self.fn, self.capture = fn, capture
        self.buffers = tuple(None if x is None else x.detach().clone(memory_format=torch.contiguous_format)
                             for x in example)
        self.graph, self.outputs = None, None
        if capture:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(WARMUP_CALLS):
                    fn(*self.buffers)
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.outputs = fn(*self.buffers)

    def __call__(self, *inputs) -> tuple:
        """The outputs of ``fn`` on ``inputs`` (each copied into its buffer), as fresh tensors."""
        for buffer, x in zip(self.buffers, inputs):
            if buffer is not None:
                buffer.copy_(x)
        if self.graph is not None:
            self.graph.replay()
            outputs = self.outputs
        else:
            outputs = self.fn(*self.buffers)
        return tuple(None if y is None else y.clone() for y in outputs)


def _rates(knobs: Knobs) -> torch.Tensor | None:
    """Per-member rates as one (4, S, 1, 1) tensor (leak, friction, adapt_rate, adapt_strength), or
    None for float rates (constants of the graph)."""
    if not isinstance(knobs.leak, torch.Tensor):
        return None
    return torch.stack([knobs.leak, knobs.friction, knobs.adapt_rate, knobs.adapt_strength])


def _knobs(knobs: Knobs, rates: torch.Tensor | None) -> Knobs:
    """The knobs a loop uses: the float ones, or views of the static rate buffer."""
    return knobs if rates is None else Knobs(*rates.unbind(0))


class CellGraphs:
    """The fused training recurrence of an ensemble, forward and backward, through cached
    :class:`StaticCall` s: ``graphs(r0, drive, weight, knobs, activation, noise, mechanisms)``
    returns hidden (S, T, B, N) with the gradient of the fused path (shapes as
    :func:`rnnreplay.fused_cell.run_cell`).

    Args:
        capture: capture CUDA graphs (default: when the tensors are on CUDA); False runs the same
            buffers eagerly (CPU, tests).
    """

    def __init__(self, capture: bool | None = None):
        self.capture = capture
        self.calls: dict[tuple, tuple[StaticCall, StaticCall]] = {}

    def __call__(self, r0, drive, weight, knobs: Knobs, activation: str, noise: NoiseStream,
                 mechanisms: Acting) -> torch.Tensor:
        return _GraphedSequence.apply(r0, drive, weight, knobs, activation, noise, mechanisms, self)

    def loops(self, r0, drive, weight, knobs: Knobs, activation: str, noise_block, mechanisms: Acting):
        """The (forward, backward) static calls for these shapes and constants, captured at first use."""
        rates = _rates(knobs)
        constants = None if rates is not None else (knobs.leak, knobs.friction, knobs.adapt_rate, knobs.adapt_strength)
        key = (tuple(r0.shape), tuple(drive.shape), tuple(weight.shape), r0.dtype, str(r0.device), activation,
               tuple(mechanisms), noise_block is None, constants)
        if key not in self.calls:
            capture = r0.is_cuda if self.capture is None else self.capture
            members = weight.dim() == 3

            def forward(r0, drive, weight, rates, noise_block):
                noise = BlockNoise(noise_block, members)
                return run_cell(r0, drive, weight, _knobs(knobs, rates), activation, noise, keep_pre=True,
                                mechanisms=mechanisms)

            def backward(grad_hidden, weight, pres, rates):
                return cell_backward(grad_hidden, weight, pres, _knobs(knobs, rates), activation, mechanisms)

            shape = drive.shape  # ([S,] T, B, N): hidden, pres and their gradients
            forward_call = StaticCall(forward, (r0, drive, weight, rates, noise_block), capture)
            backward_call = StaticCall(backward, (drive.new_zeros(shape), weight, drive.new_zeros(shape), rates),
                                       capture)
            self.calls[key] = (forward_call, backward_call)
        return self.calls[key]


class _GraphedSequence(torch.autograd.Function):
    """:class:`rnnreplay.fused_cell.CellSequence` with both loops run through :class:`CellGraphs`."""

    @staticmethod
    def forward(ctx, r0, drive, weight, knobs, activation, noise, mechanisms, graphs):
        noise_block = noise.whole()
        forward_call, backward_call = graphs.loops(r0, drive, weight, knobs, activation, noise_block, mechanisms)
        rates = _rates(knobs)
        hidden, pres = forward_call(r0, drive, weight, rates, noise_block)
        ctx.backward_call, ctx.rates = backward_call, rates
        ctx.save_for_backward(r0, weight, hidden, pres)
        return hidden

    @staticmethod
    def backward(ctx, grad_hidden):
        r0, weight, hidden, pres = ctx.saved_tensors
        lr, g_pre = ctx.backward_call(grad_hidden, weight, pres, ctx.rates)
        grad_weight = weight_grad(g_pre, r0, hidden) if ctx.needs_input_grad[2] else None
        grad_drive = g_pre if ctx.needs_input_grad[1] else None
        return lr, grad_drive, grad_weight, None, None, None, None, None

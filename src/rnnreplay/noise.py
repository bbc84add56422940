"""The cell's hidden noise: :func:`draw_noise` and :class:`NoiseStream`, one random stream that
the readable step, the fused loop and the CUDA-graph replay all read, so that every path sees the
same draws."""

from __future__ import annotations

import torch


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


class NoiseStream:
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
            self._draw(t, min(self.chunk, self.steps - t))
        return self._block[:, t - self._start] if self.members else self._block[t - self._start]

    def whole(self) -> torch.Tensor | None:
        """Every step's noise at once, ([S,] T, B, N): the values :meth:`step` gives for t = 0..T-1
        (one draw of the whole sequence, which on CPU the chunks reproduce; on CUDA :meth:`step`
        draws it whole too). None when there is no noise. Call it instead of :meth:`step`."""
        if not self:
            return None
        self._draw(0, self.steps)
        return self._block

    def _draw(self, t: int, n: int) -> None:
        """Draw steps t..t+n-1 into the current block."""
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

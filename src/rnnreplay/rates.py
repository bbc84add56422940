"""The mechanism rates one run of the cell uses (:class:`Knobs`), as floats or, for an ensemble
whose members differ, as per-member tensors; and the few helpers that treat both alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch


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


class Acting(NamedTuple):
    """Which mechanisms act in a run (in any member of an ensemble): plain bools, known without
    reading a device tensor."""

    momentum: bool  # friction != 1
    adaptation: bool  # adapt_rate > 0


def acting_in(knobs: list[Knobs]) -> Acting:
    """The mechanisms that act in any of these (float) knobs."""
    return Acting(momentum=any(k.friction != 1.0 for k in knobs), adaptation=any(k.adapt_rate > 0 for k in knobs))


def acting(knobs: Knobs) -> Acting:
    """The mechanisms that act under ``knobs`` (float or per-member tensor rates; the latter is
    read back from the device once)."""
    return Acting(momentum=_any(knobs.friction != 1.0), adaptation=_any(knobs.adapt_rate > 0))


def member_knobs(knobs: list[Knobs], like: torch.Tensor) -> Knobs:
    """The knobs of S members that differ, as one :class:`Knobs` of (S, 1, 1) tensors (``like``'s
    device and dtype) that broadcast over an ensemble's (S, B, N) state."""
    column = lambda name: torch.tensor([getattr(k, name) for k in knobs], device=like.device,  # noqa: E731
                                       dtype=like.dtype).view(-1, 1, 1)
    return Knobs(leak=column("leak"), friction=column("friction"), adapt_rate=column("adapt_rate"),
                 adapt_strength=column("adapt_strength"))


def _any(flags) -> bool:
    """Whether a mechanism acts: a bool, or for per-member knobs a bool tensor (any member)."""
    return bool(flags.any()) if isinstance(flags, torch.Tensor) else bool(flags)


def add_scaled(y: torch.Tensor, x: torch.Tensor, scale) -> torch.Tensor:
    """y += scale * x in place: ``scale`` a float (torch's ``alpha``) or a per-member tensor."""
    return y.addcmul_(x, scale) if isinstance(scale, torch.Tensor) else y.add_(x, alpha=scale)

"""Population codes of the KR24 and CR26 tasks: place cells in a box and head-direction cells.

Each code maps positions to firing (``encode``) and decodes a firing vector back to a position
the way KR24's code does: from the centres of the ``top_k`` most active cells.
"""

from __future__ import annotations

import numpy as np


def wrap_angle(theta: np.ndarray) -> np.ndarray:
    """Angles (any shape, rad) wrapped to [-pi, pi)."""
    return (np.asarray(theta) + np.pi) % (2 * np.pi) - np.pi


def random_centres(n: int, low: np.ndarray, high: np.ndarray, seed: int) -> np.ndarray:
    """``n`` centres (n, 2) uniform in the box [low, high] (m), from a fixed seed [KR24 code]."""
    return np.random.default_rng(seed).uniform(low, high, size=(n, 2)).astype(np.float32)


class PlaceCells:
    """Gaussian place fields with centres ``centres`` (n, 2) and width ``sigma`` (m).

    Args:
        centres: (n, 2) field centres, m.
        sigma: field width (std), m.
        normalise: ``softmax`` (KR24: softmax over cells of -d^2 / 2 sigma^2, the code sums
            to 1) or ``peak`` (plain Gaussians with peak 1, RatInABox's ``gaussian`` cells).
        top_k: cells whose centres are averaged when decoding.
    """

    def __init__(self, centres: np.ndarray, sigma: float, normalise: str = "softmax", top_k: int = 3):
        if normalise not in ("softmax", "peak"):
            raise ValueError(f"normalise must be 'softmax' or 'peak', got {normalise!r}")
        if sigma <= 0 or top_k < 1:
            raise ValueError("need sigma > 0 and top_k >= 1")
        self.centres = np.asarray(centres, dtype=np.float32)
        self.sigma, self.normalise, self.top_k = float(sigma), normalise, int(top_k)

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.centres)

    def encode(self, position: np.ndarray) -> np.ndarray:
        """Firing of every cell at positions (..., 2) (m) -> (..., n), dimensionless."""
        p = np.asarray(position, dtype=np.float32)
        # (..., n): dx^2 + dy^2 written out, the same float32 sum as ((p - c)^2).sum(-1) without
        # numpy's slow reduction over an axis of length 2
        d2 = np.square(p[..., 0, None] - self.centres[:, 0])
        d2 += np.square(p[..., 1, None] - self.centres[:, 1])
        logits = -d2 / (2 * self.sigma**2)
        if self.normalise == "peak":
            return np.exp(logits).astype(np.float32)
        logits = logits - logits.max(-1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(-1, keepdims=True)).astype(np.float32)

    def encode_torch(self, position):
        """:meth:`encode` in torch on ``position``'s device: (..., 2) float32 tensor (m) -> (..., n),
        the same float32 arithmetic (the softmax fused: equal to float32 rounding)."""
        import torch

        centres = torch.as_tensor(self.centres, device=position.device)
        d2 = torch.square(position[..., 0, None] - centres[:, 0])
        d2 += torch.square(position[..., 1, None] - centres[:, 1])
        logits = -d2 / (2 * self.sigma**2)
        return torch.exp(logits) if self.normalise == "peak" else torch.softmax(logits, dim=-1)

    def decode(self, code: np.ndarray) -> np.ndarray:
        """Mean centre of the ``top_k`` most active cells: (..., n) -> (..., 2), m."""
        idx = np.argpartition(-np.asarray(code), self.top_k - 1, axis=-1)[..., : self.top_k]
        return self.centres[idx].mean(-2).astype(np.float32)


class HeadDirectionCells:
    """Von Mises head-direction cells [KR24]: ``n`` preferred angles evenly around the circle,
    firing exp(kappa (cos(theta - mu) - 1)) with kappa = 1 / spread^2 (peak 1).

    Args:
        n: number of cells.
        spread: angular width sigma (rad); kappa = 1 / sigma^2.
        top_k: cells whose preferred angles are circular-averaged when decoding.
    """

    def __init__(self, n: int, spread: float = np.pi / 6, top_k: int = 3):
        if n < 1 or spread <= 0 or top_k < 1:
            raise ValueError("need n >= 1, spread > 0 and top_k >= 1")
        # KR24's linspace(-pi, pi, n) puts two cells at the same angle; we space them evenly.
        self.preferred = wrap_angle(np.linspace(-np.pi, np.pi, n, endpoint=False)).astype(np.float32)
        self.kappa, self.top_k = 1.0 / spread**2, int(top_k)

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.preferred)

    def encode(self, angle: np.ndarray) -> np.ndarray:
        """Firing at angles (..., 1) (rad) -> (..., n), peak 1."""
        theta = np.asarray(angle, dtype=np.float32)
        return np.exp(self.kappa * (np.cos(theta - self.preferred) - 1.0)).astype(np.float32)

    def encode_torch(self, angle):
        """:meth:`encode` in torch on ``angle``'s device: (..., 1) float32 tensor (rad) -> (..., n)."""
        import torch

        preferred = torch.as_tensor(self.preferred, device=angle.device)
        return torch.exp(self.kappa * (torch.cos(angle - preferred) - 1.0))

    def decode(self, code: np.ndarray) -> np.ndarray:
        """Circular mean of the ``top_k`` most active preferred angles: (..., n) -> (..., 1), rad."""
        idx = np.argpartition(-np.asarray(code), self.top_k - 1, axis=-1)[..., : self.top_k]
        angles = self.preferred[idx]
        mean = np.arctan2(np.sin(angles).mean(-1), np.cos(angles).mean(-1))
        return mean[..., None].astype(np.float32)

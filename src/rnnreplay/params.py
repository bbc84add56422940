"""The cell's knobs (:class:`CellParams`), kept free of torch so that resolving a config (every
Snakemake dry run, every small job) does not pay torch's import time. The cell itself is in
:mod:`rnnreplay.model`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

ACTIVATION_NAMES = ("relu", "tanh", "leaky_relu")
NOISE_SCALINGS = ("constant", "sqrt_leak", "leak")
NOISE_KINDS = ("gaussian", "uniform01")
CELLS = ["rnn", "gru"]  # names ``cell`` accepts; rnnreplay.model.register_cell adds to it


@dataclass
class CellParams:
    """Knobs of the cell (defaults: the first-order, non-leaky, noisy ReLU RNN).

    Attributes:
        hidden: number of hidden units N.
        activation: phi, one of ``relu``, ``tanh``, ``leaky_relu``.
        leak: lambda_r in (0, 1], the leak rate dt/tau (1 = no leak: state replaced each step).
        adapt_strength: b_a >= 0, gain of the adaptation current (0 = off).
        adapt_tau: tau_a in steps; adaptation rate lambda_a = 1 / tau_a.
        friction: lambda_v in (0, 1], friction of the momentum (1 = no momentum).
        sigma: hidden noise std per step (state units), before scaling.
        noise_scaling: how noise scales with the leak: ``constant`` (sigma),
            ``sqrt_leak`` (sigma * sqrt(leak)) or ``leak`` (sigma * leak).
        noise: ``gaussian`` (the papers) or ``uniform01`` (sigma * U[0, 1), KR24's code).
        cell: ``rnn`` (the four-knob cell), ``gru`` (KR24's continuous-time GRU; it has no
            adaptation or momentum, ``leak`` is its dt / tau) or a name registered with
            :func:`rnnreplay.model.register_cell`.
    """

    hidden: int = 128
    activation: str = "relu"
    leak: float = 1.0
    adapt_strength: float = 0.0
    adapt_tau: float = 8.0
    friction: float = 1.0
    sigma: float = 0.03
    noise_scaling: str = "constant"
    noise: str = "gaussian"
    cell: str = "rnn"

    def __post_init__(self):
        if not 0 < self.leak <= 1:
            raise ValueError(f"leak must be in (0, 1], got {self.leak}")
        if not 0 < self.friction <= 1:
            raise ValueError(f"friction must be in (0, 1], got {self.friction}")
        if self.adapt_strength < 0 or self.adapt_tau < 1:
            raise ValueError("need adapt_strength >= 0 and adapt_tau >= 1")
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")
        if self.activation not in ACTIVATION_NAMES:
            raise ValueError(f"activation must be one of {sorted(ACTIVATION_NAMES)}")
        if self.noise_scaling not in NOISE_SCALINGS:
            raise ValueError(f"noise_scaling must be one of {NOISE_SCALINGS}")
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise must be one of {NOISE_KINDS}")
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}")
        if self.cell == "gru" and (self.adapt_strength > 0 or self.friction != 1.0):
            raise ValueError("cell: gru has no adaptation or momentum (need adapt_strength 0, friction 1)")

    @property
    def noise_std(self) -> float:
        """Per-step noise scale after the leak scaling (state units)."""
        factor = {"constant": 1.0, "sqrt_leak": math.sqrt(self.leak), "leak": self.leak}
        return self.sigma * factor[self.noise_scaling]

    def to_dict(self) -> dict:
        return asdict(self)

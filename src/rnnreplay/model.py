"""The one recurrent cell of SCIENCE.md section 1, with its four knobs.

Discrete time, hidden state r (B, N), input u (B, D_in), readout o (B, C)::

    pre_t   = W_rec r_t + W_in u_t + b - a_t           # a_t: adaptation current
    dr_t    = leak * (-r_t + phi(pre_t)) + noise_t
    v_{t+1} = (1 - friction) * v_t + dr_t              # momentum (hidden-state velocity)
    r_{t+1} = r_t + v_{t+1}
    a_{t+1} = (1 - adapt_rate) * a_t + adapt_rate * adapt_strength * r_t
    o_t     = W_out r_{t+1} + c

``leak = 1`` replaces the state every step, ``friction = 1`` is the first-order cell exactly and
``adapt_strength = 0`` switches adaptation off. ``r_0 = W_enc f(s_0)``, ``v_0 = a_0 = 0``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "leaky_relu": nn.functional.leaky_relu}
NOISE_SCALINGS = ("constant", "sqrt_leak", "leak")
NOISE_KINDS = ("gaussian", "uniform01")


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

    def __post_init__(self):
        if not 0 < self.leak <= 1:
            raise ValueError(f"leak must be in (0, 1], got {self.leak}")
        if not 0 < self.friction <= 1:
            raise ValueError(f"friction must be in (0, 1], got {self.friction}")
        if self.adapt_strength < 0 or self.adapt_tau < 1:
            raise ValueError("need adapt_strength >= 0 and adapt_tau >= 1")
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
        if self.noise_scaling not in NOISE_SCALINGS:
            raise ValueError(f"noise_scaling must be one of {NOISE_SCALINGS}")
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise must be one of {NOISE_KINDS}")

    @property
    def noise_std(self) -> float:
        """Per-step noise scale after the leak scaling (state units)."""
        factor = {"constant": 1.0, "sqrt_leak": math.sqrt(self.leak), "leak": self.leak}
        return self.sigma * factor[self.noise_scaling]

    def to_dict(self) -> dict:
        return asdict(self)


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

    def forward(
        self,
        inputs: torch.Tensor,
        start_code: torch.Tensor,
        *,
        adaptation: bool = True,
        momentum: bool = True,
        noise_multiplier: float = 1.0,
        generator: torch.Generator | None = None,
        return_hidden: bool = False,
        progress=range,
    ):
        """Run the cell over a sequence.

        Args:
            inputs: (B, T, D_in) inputs u_t (zeros for replay).
            start_code: (B, C) code f(s_0); r_0 = W_enc f(s_0).
            adaptation, momentum: whether these mechanisms act (off = b_a 0, lambda_v 1).
            noise_multiplier: factor on the noise std (sqrt(2) in replay, 0 to switch it off).
            generator: torch generator for the noise (reproducible runs).
            return_hidden: also return the hidden states.
            progress: called with the number of steps, returns the steps to iterate (``range``;
                :func:`rnnreplay.progress.steps` shows a bar or log lines).

        Returns:
            outputs (B, T, C) readouts o_0..o_{T-1}, and hidden (B, T, N) r_1..r_T if asked.
        """
        p = self.params
        batch, steps, _ = inputs.shape
        r = self.encoder(start_code)  # (B, N)
        v = torch.zeros_like(r)
        a = torch.zeros_like(r)
        drive = self.input(inputs)  # (B, T, N): W_in u_t + b for every step at once
        friction = p.friction if momentum else 1.0
        use_adaptation = adaptation and p.adapt_strength > 0
        adapt_rate = 1.0 / p.adapt_tau
        noise = self._noise((steps, batch, p.hidden), p.noise_std * noise_multiplier, r, generator)
        W_rec = self.recurrent.weight.T
        states = []
        for t in progress(steps):
            pre = r @ W_rec + drive[:, t]
            if use_adaptation:
                pre = pre - a
            dr = p.leak * (self.phi(pre) - r)
            if noise is not None:
                dr = dr + noise[t]
            v = dr if friction == 1.0 else (1.0 - friction) * v + dr
            if use_adaptation:
                a = (1.0 - adapt_rate) * a + adapt_rate * p.adapt_strength * r
            r = r + v
            states.append(r)
        hidden = torch.stack(states, dim=1)  # (B, T, N)
        outputs = self.readout(hidden)  # (B, T, C): one product over time
        return (outputs, hidden) if return_hidden else outputs

    def _noise(self, shape, std, like, generator):
        if std == 0:
            return None
        if self.params.noise == "gaussian":
            z = torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
        else:
            z = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
        return std * z

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

``cell: gru`` swaps in KR24's continuous-time GRU baseline (:class:`NoisyGRU`);
:func:`make_cell` is the one place that chooses between the two.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "leaky_relu": nn.functional.leaky_relu}
NOISE_SCALINGS = ("constant", "sqrt_leak", "leak")
NOISE_KINDS = ("gaussian", "uniform01")
CELLS = ("rnn", "gru")


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
        cell: ``rnn`` (the four-knob cell) or ``gru`` (KR24's continuous-time GRU; it has no
            adaptation or momentum, ``leak`` is its dt / tau).
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
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
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
    ):
        """Run the cell over a sequence.

        Args:
            inputs: (B, T, D_in) inputs u_t (zeros for replay).
            start_code: (B, C) code f(s_0); r_0 = W_enc f(s_0).
            adaptation, momentum: whether these mechanisms act (off = b_a 0, lambda_v 1).
            noise_multiplier: factor on the noise std (sqrt(2) in replay, 0 to switch it off).
            generator: torch generator for the noise (reproducible runs).
            return_hidden: also return the hidden states.

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
        for t in range(steps):
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
        return draw_noise(self.params.noise, shape, std, like, generator)


def draw_noise(kind: str, shape, std: float, like: torch.Tensor, generator):
    """Hidden noise of the given ``shape``: ``std`` times N(0, 1) (``gaussian``) or U[0, 1)
    (``uniform01``), on ``like``'s device and dtype; None when ``std`` is 0."""
    if std == 0:
        return None
    if kind == "gaussian":
        z = torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
    else:
        z = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    return std * z


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

    def forward(self, inputs, start_code, *, adaptation=True, momentum=True, noise_multiplier=1.0,
                generator=None, return_hidden=False):
        """Run the GRU: inputs (B, T, D_in), start_code (B, C) -> outputs (B, T, C) and, if
        asked, hidden (B, T, N); see :meth:`NoisyRNN.forward` for the arguments."""
        p = self.params
        batch, steps, _ = inputs.shape
        h = self.encoder(start_code)  # (B, N)
        drive = self.input(inputs)  # (B, T, 3N)
        noise = draw_noise(p.noise, (steps, batch, p.hidden), p.noise_std * noise_multiplier, h, generator)
        states = []
        for t in range(steps):
            d_z, d_g, d_h = drive[:, t].chunk(3, dim=-1)
            r_z, r_g = self.recurrent_gates(h).chunk(2, dim=-1)
            z = torch.sigmoid(d_z + r_z)
            g = torch.sigmoid(d_g + r_g)
            candidate = self.phi(d_h + self.recurrent(g * h))
            h = h + p.leak * (1 - z) * (candidate - h)
            if noise is not None:
                h = h + noise[t]
            states.append(h)
        hidden = torch.stack(states, dim=1)  # (B, T, N)
        outputs = self.readout(hidden)
        return (outputs, hidden) if return_hidden else outputs


def make_cell(n_in: int, n_out: int, params: CellParams) -> nn.Module:
    """The model the knobs ask for: :class:`NoisyGRU` for ``cell: gru``, else :class:`NoisyRNN`."""
    return (NoisyGRU if params.cell == "gru" else NoisyRNN)(n_in=n_in, n_out=n_out, params=params)

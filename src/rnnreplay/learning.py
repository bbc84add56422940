"""Did the network learn the task? (docs/methods.md#did-the-networks-learn)

Two questions, asked of every trained model before its replay is interpreted:

1. Does it path-integrate? Drive it with the held-out test paths in the "active" condition
   (:func:`rnnreplay.replay.run_active`: its training noise and mechanisms), decode every step
   and compare the decoding error with chance, the error of always guessing the mean test
   position (:func:`path_integration_error`, :func:`chance_error`, :func:`summary`).
2. Did its training converge? The smoothed loss must have stopped falling
   (:func:`loss_plateaued`).

Conventions: ``decoded`` (P, T, D) holds the positions decoded from the readout after steps
1..T, so ``decoded[:, t]`` estimates ``true_positions[:, t + 1]`` (the target of step t+1, see
:class:`rnnreplay.tasks.base.PathBatch`); "the error at step k" is column k - 1 of the (P, T)
error. Errors are in the task's length unit (``task.length_unit``: "1" for the mazes, "m" for
the boxes) or, for ``task.circular`` tasks, in rad (absolute wrapped angular difference).

The replay stage stores the active run of every model (``active_position``); the metrics stage
turns it into the registered ``pi_*`` metrics (:mod:`rnnreplay.metrics`), and the claims stage
gates every comparison on them (:func:`rnnreplay.claims.learned_seeds`, with the threshold the
config declares). numpy only.
"""

from __future__ import annotations

import math

import numpy as np

# The plateau criterion (see :func:`loss_plateaued`).
PLATEAU_TAIL = 0.2  # fraction of training over which the loss's fall is measured
PLATEAU_MAX_FALL = 0.05  # relative fall over that tail below which the loss has plateaued


def _wrap(theta: np.ndarray) -> np.ndarray:
    """Angles (any shape, rad) wrapped to [-pi, pi)."""
    return (np.asarray(theta) + np.pi) % (2 * np.pi) - np.pi


def _distance(task, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (...) between positions a and b (..., D): Euclidean, or for circular tasks the
    absolute wrapped angular difference summed over the (single) angle axis."""
    if getattr(task, "circular", False):
        return np.abs(_wrap(a - b)).sum(-1)
    return np.sqrt(np.square(a - b).sum(-1))


def _targets(decoded: np.ndarray, true_positions: np.ndarray) -> np.ndarray:
    """The true positions s_1..s_T (P, T, D) that ``decoded`` (P, T, D) estimates."""
    decoded, true_positions = np.asarray(decoded), np.asarray(true_positions)
    if true_positions.ndim != 3 or decoded.ndim != 3:
        raise ValueError("decoded must be (P, T, D) and true_positions (P, T+1, D)")
    if true_positions.shape[0] != decoded.shape[0] or true_positions.shape[1] != decoded.shape[1] + 1 \
            or true_positions.shape[2] != decoded.shape[2]:
        raise ValueError(f"decoded {decoded.shape} needs true_positions of shape "
                         f"{(decoded.shape[0], decoded.shape[1] + 1, decoded.shape[2])}, got {true_positions.shape}")
    return true_positions[:, 1:]


def path_integration_error(task, decoded: np.ndarray, true_positions: np.ndarray) -> np.ndarray:
    """Per-step decoding error of a network driven by real paths.

    Args:
        task: the task (its ``circular`` flag chooses the geometry).
        decoded: (P, T, D) positions decoded from the readout after each of T steps (what
            :func:`rnnreplay.replay.run_active` returns).
        true_positions: (P, T+1, D) the paths that drove it, s_0..s_T.

    Returns:
        (P, T) error after steps 1..T: the Euclidean distance between decoded[:, t] and
        true_positions[:, t + 1] in the task's length unit, or for circular tasks the absolute
        wrapped angular difference in rad (in [0, pi]).
    """
    target = _targets(decoded, true_positions)
    return _distance(task, np.asarray(decoded, dtype=np.float64), target.astype(np.float64))


def mean_position(task, points: np.ndarray) -> np.ndarray:
    """The mean (D,) of positions (..., D): arithmetic, or for circular tasks the circular mean
    (the angle of the mean unit vector; 0 when that vector is 0)."""
    flat = np.asarray(points, dtype=np.float64).reshape(-1, np.shape(points)[-1])
    if getattr(task, "circular", False):
        return np.arctan2(np.sin(flat).mean(0), np.cos(flat).mean(0))
    return flat.mean(0)


def chance_error(task, true_positions: np.ndarray, per_step: bool = False):
    """The error of always guessing the mean test position (docs/methods.md#did-the-networks-learn).

    The guess is one position for every path and step: the mean of s_1..s_T over all paths
    (the circular mean for circular tasks); its error is measured as in
    :func:`path_integration_error` (Euclidean, or circular absolute difference in rad).

    Args:
        task: the task.
        true_positions: (P, T+1, D) test paths s_0..s_T (s_0, which the network is given through
            its start code, is excluded from both the mean and the error).
        per_step: return the error per step instead of the overall mean.

    Returns:
        A float, the mean over all paths and steps 1..T of the guess's error (what
        :func:`summary` divides by), or with ``per_step`` the (T,) mean over paths at each step
        (the same guess; useful to see how chance varies along paths that share a start, e.g.
        the T-maze).
    """
    target = np.asarray(true_positions, dtype=np.float64)[:, 1:]
    guess = mean_position(task, target)
    err = _distance(task, target, guess)
    return err.mean(0) if per_step else float(err.mean())


def summary(task, decoded: np.ndarray, true_positions: np.ndarray, train_steps: int | None = None) -> dict:
    """Scalars of a network's path integration on test paths.

    Args:
        task: the task.
        decoded: (P, T, D) decoded positions (:func:`rnnreplay.replay.run_active`).
        true_positions: (P, T+1, D) the test paths.
        train_steps: the training sequence length L (steps); None = not reported.

    Returns:
        dict of floats (length unit or rad; ratios dimensionless):
        ``pi_error`` mean error over all paths and steps 1..T; ``pi_error_train_length``
        mean error after step L (column L - 1; NaN when L is None or > T); ``pi_error_last``
        mean error after the last step T; ``pi_chance`` :func:`chance_error`; ``pi_ratio``
        pi_error / pi_chance (what the learning gate compares with its threshold);
        ``pi_ratio_train_length`` and ``pi_ratio_last`` the same at step L and T.
    """
    err = path_integration_error(task, decoded, true_positions)
    chance = chance_error(task, true_positions)
    steps = err.shape[1]
    at_train = float(err[:, train_steps - 1].mean()) if train_steps and 1 <= train_steps <= steps else math.nan
    mean, last = float(err.mean()), float(err[:, -1].mean())
    ratio = (lambda x: x / chance if chance > 0 else math.nan)
    return {
        "pi_error": mean,
        "pi_error_train_length": at_train,
        "pi_error_last": last,
        "pi_chance": chance,
        "pi_ratio": ratio(mean),
        "pi_ratio_train_length": ratio(at_train),
        "pi_ratio_last": ratio(last),
    }


def loss_plateaued(loss, tail: float = PLATEAU_TAIL, window: float | None = None,
                   max_fall: float = PLATEAU_MAX_FALL) -> tuple[bool, float]:
    """Has a training loss curve stopped falling?

    The relative fall over the last ``tail`` of training, measured between two window means so
    that step-to-step batch noise averages out: ``before`` = mean loss over the ``w`` steps that
    end where the tail begins, ``after`` = mean over the last ``w`` steps. Both windows have the
    same length, so their centres are exactly the tail's length apart.
    ``fall = (before - after) / before``; the loss has plateaued when ``fall < max_fall``
    (a loss that rises, fall < 0, counts as plateaued: it no longer improves).

    Args:
        loss: (S,) loss per optimiser step (e.g. ``loss_ds["loss"].values``).
        tail: fraction of the S steps over which the fall is measured (default 0.2: the last
            fifth of training).
        window: fraction of S averaged in each window (default ``tail / 2``: steps
            [0.7 S, 0.8 S) and [0.9 S, S) at the default tail).
        max_fall: the relative fall at and above which the loss is still falling (default 0.05).

    Returns:
        (plateaued, fall): a bool and the relative fall (float; NaN and False when the curve is
        too short, fewer than 10 steps, or the windows' mean is not positive and finite).
    """
    loss = np.asarray(loss, dtype=np.float64).ravel()
    n = len(loss)
    if not 0 < tail < 1:
        raise ValueError(f"tail must be in (0, 1), got {tail}")
    window = tail / 2 if window is None else window
    if not 0 < window <= 1 - tail:
        raise ValueError(f"window must be in (0, 1 - tail], got {window}")
    if n < 10:
        return False, math.nan
    n_tail = max(1, int(round(tail * n)))
    w = max(1, int(round(window * n)))
    start = n - n_tail
    if start - w < 0:
        return False, math.nan
    before, after = loss[start - w:start].mean(), loss[n - w:].mean()
    if not (np.isfinite(before) and np.isfinite(after)) or before <= 0:
        return False, math.nan
    fall = float((before - after) / before)
    return bool(fall < max_fall), fall

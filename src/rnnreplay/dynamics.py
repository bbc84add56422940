"""Replay dynamics as experimenters measure them (docs/replay-dynamics.md): scale-free measures of
decoded trajectories with published values, each a function of positions (B, T, D) in the task's
length unit (unwrapped headings, rad, for the ring). Times are in replay steps.

- :func:`mean_displacement`, :func:`displacement_exponent`, :func:`local_slopes`: the exponent
  alpha of <||x(t+k) - x(t)||> ~ k^alpha (Stella et al. 2019): Brownian 0.5, ballistic 1,
  stationary 0; sleep replay 0.45-0.53, awake ripples 0.54-0.68, behaviour 0.67-0.72.
- :func:`fit_event`, :func:`compare_models`, :func:`classify_events`: each replay event's
  likelihood under a stationary, a diffusion and a momentum state-space model with observation
  noise, by maximum likelihood with statsmodels' Kalman filter, compared by BIC (after Krause &
  Drugowitsch 2022: awake ripples 85% momentum, 5% diffusion, 4.5% stationary).
- :class:`Grid`, :func:`coverage_curve`: the fraction of the environment visited against distance
  travelled (McNamee et al. 2021).
- :func:`hover_fraction`: the share of near-zero steps (Pfeiffer & Foster 2015's hover-and-jump).

statsmodels is imported on first use only (it costs ~0.7 s of the metrics job's start-up).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

MODELS = ("stationary", "diffusion", "momentum")  # in order of complexity; each nests the one before
N_PARAMS = {"stationary": 1, "diffusion": 2, "momentum": 3}  # free parameters counted by BIC (scale included)
COVERAGE_CURVE = np.arange(1, 17) / 4  # distances of the coverage curve, in environment extents (0.25 .. 4)
CURVE_POINTS = 16  # log-spaced lags of the mean-displacement curve
# Maximum likelihood by Powell's derivative-free search in the models' unconstrained (logit) parameters:
# robust where a parameter runs to its boundary (w -> 0 on a fixed point, phi -> 0 on a random walk),
# and free of the BLAS thread start-up that made L-BFGS-B's tiny steps cost ~1 ms each on a loaded
# machine. xtol 0.01 in logit units and ftol 1e-4 (relative: ~0.04 nats at a log-likelihood of
# -400) are far below the BIC differences that decide an event (log n ~ 5 nats per parameter).
FIT_OPTIONS = dict(method="powell", xtol=1e-2, ftol=1e-4, maxiter=200, disp=False, return_params=True)
# The momentum model's likelihood can have a second, lower mode (more persistence and observation
# noise vs less of both): the search starts from the best point of this grid of (w, phi) (and the
# moment-based start). On 60 synthetic events (momentum, random walks, fixed points; tests) this came
# within 0.14 nats of a brute-force search (25 x 25 grid, L-BFGS from its 3 best points), where a
# single start had stopped up to 8 nats short.
START_SHARES = (0.1, 0.5, 0.9)  # w = q / (q + r)
START_PERSISTENCE = (0.2, 0.5, 0.8, 0.95)  # phi


# --- Displacement exponent (Stella et al. 2019) --------------------------------------------------

def log_lags(low: int, high: int, n: int) -> np.ndarray:
    """Up to ``n`` distinct integer lags spaced evenly in log between ``low`` and ``high`` (both
    included), so that a fit in log-log space weighs every octave alike."""
    low, high = max(1, int(low)), max(1, int(high))
    if high < low:
        raise ValueError(f"lag range [{low}, {high}] is empty")
    return np.unique(np.round(np.geomspace(low, high, n)).astype(int))


def mean_displacement(position: np.ndarray, lags) -> np.ndarray:
    """<||x(t+k) - x(t)||> over trajectories and start times, at each lag k.

    Args:
        position: (B, T, D) positions (unwrapped for headings).
        lags: (L,) positive integer lags (steps).

    Returns:
        (L,) mean displacement (length unit); NaN at lags >= T.
    """
    x = np.asarray(position, dtype=np.float64)
    out = np.full(len(lags), np.nan)
    for i, k in enumerate(np.asarray(lags, dtype=int)):
        if 0 < k < x.shape[1]:
            out[i] = np.sqrt(((x[:, k:] - x[:, :-k]) ** 2).sum(-1)).mean()
    return out


def _log_fit(lags, md) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(md) & (md > 0)
    return np.log(np.asarray(lags, dtype=float)[ok]), np.log(md[ok])


def displacement_exponent(position: np.ndarray, lag_range=(1, 10), n: int = 8) -> float:
    """The displacement exponent alpha: least-squares slope of log mean displacement against
    log lag at up to ``n`` log-spaced lags in ``lag_range`` (steps, both ends included).

    Returns:
        alpha (dimensionless); NaN when fewer than two lags have a positive displacement (a
        trajectory that never moves has no exponent).
    """
    lags = log_lags(lag_range[0], lag_range[1], n)
    log_k, log_md = _log_fit(lags, mean_displacement(position, lags))
    if len(log_k) < 2:
        return math.nan
    return float(np.polyfit(log_k, log_md, 1)[0])


def local_slopes(lags, md) -> np.ndarray:
    """d log md / d log k at each lag (central differences inside, one-sided at the ends):
    the local exponent, which momentum predicts near 1 below lag ~1/lambda_v and 0.5 beyond.
    NaN where the displacement is missing or zero."""
    lags, md = np.asarray(lags, dtype=float), np.asarray(md, dtype=float)
    out = np.full(len(lags), np.nan)
    ok = np.isfinite(md) & (md > 0)
    if ok.sum() >= 2:
        out[ok] = np.gradient(np.log(md[ok]), np.log(lags[ok]))
    return out


# --- Stationary vs diffusion vs momentum (Krause & Drugowitsch 2022) ----------------------------

@functools.cache
def _state_space_class():
    """The statsmodels state-space model of one replay event, built on first use (lazy import).

    Observations y_t (D coordinates) of a latent position x_t with isotropic observation noise:
        stationary:  x_t = x_(t-1)                        (a fixed point)
        diffusion:   x_t = x_(t-1) + eta_t                (a random walk)
        momentum:    v_t = phi v_(t-1) + eta_t,  x_t = x_(t-1) + v_t   (damped velocity)
        y_t = x_t + eps_t,  eps ~ N(0, r I),  eta ~ N(0, q I)
    phi = e^(-gamma dt) in (0, 1) is this repository's 1 - lambda_v. The start position is diffuse
    (so every model's likelihood is that of y_2..y_T given y_1, the same data for all three); the
    start velocity is drawn from its stationary law N(0, q / (1 - phi^2) I). The overall scale
    (r + q) is concentrated out of the likelihood (statsmodels ``filter_concentrated``): the free
    parameters are the share w = q / (r + q) of the step variance (diffusion, momentum) and phi.
    """
    from statsmodels.tsa.statespace.initialization import Initialization
    from statsmodels.tsa.statespace.mlemodel import MLEModel

    class ReplayEventModel(MLEModel):
        def __init__(self, endog: np.ndarray, kind: str):
            y = np.asarray(endog, dtype=np.float64)
            y = y[:, None] if y.ndim == 1 else y
            if kind not in MODELS:
                raise ValueError(f"model must be one of {MODELS}, got {kind!r}")
            d = y.shape[1]
            self.kind, self.dim = kind, d
            k_states = 2 * d if kind == "momentum" else d
            super().__init__(y, k_states=k_states, k_posdef=d)
            eye = np.eye(d)
            self["design"] = np.hstack([eye, np.zeros((d, k_states - d))])
            self["transition"] = np.eye(k_states)
            self["selection"] = np.vstack([eye, eye]) if kind == "momentum" else eye
            self["state_cov"] = np.zeros((d, d))
            self["obs_cov"] = eye
            self.ssm.filter_concentrated = True
            init = Initialization(k_states)
            init.set((0, d), "diffuse")
            if kind == "momentum":  # the velocity block's covariance is rewritten in place by update()
                self._velocity_cov = np.eye(d)
                init.set((d, 2 * d), "known", constant=np.zeros(d), stationary_cov=self._velocity_cov)
            self.ssm.initialization = init

        @property
        def param_names(self):
            return {"stationary": [], "diffusion": ["step_share"], "momentum": ["step_share", "persistence"]}[self.kind]

        @property
        def start_params(self):
            """Moments of the increments: for a random walk with observation noise,
            Var(dy) = q + 2r and Cov(dy_t, dy_(t+1)) = -r; persistence starts at 0.5."""
            dy = np.diff(self.endog, axis=0)
            var = max(float(dy.var(0).mean()), 1e-300)
            lag1 = float((dy[1:] * dy[:-1]).mean()) if len(dy) > 1 else 0.0
            r = min(max(-lag1, 0.05 * var), 0.45 * var)
            w = (var - 2 * r) / (var - r)
            return np.array({"stationary": [], "diffusion": [w], "momentum": [w, 0.5]}[self.kind])

        def transform_params(self, unconstrained):
            return 1 / (1 + np.exp(-np.asarray(unconstrained, dtype=float)))  # each parameter in (0, 1)

        def untransform_params(self, constrained):
            p = np.clip(np.asarray(constrained, dtype=float), 1e-12, 1 - 1e-12)
            return np.log(p / (1 - p))

        def update(self, params, **kwargs):
            params = super().update(params, **kwargs)
            d, eye = self.dim, np.eye(self.dim)
            w = float(params[0]) if len(params) else 0.0
            self["obs_cov"] = (1 - w) * eye
            if self.kind == "stationary":
                return
            self["state_cov"] = w * eye
            if self.kind == "momentum":
                phi = min(float(params[1]), 1 - 1e-6)  # the logistic saturates to 1.0 far out in a line search
                transition = np.eye(2 * d)
                transition[:d, d:] = phi * eye
                transition[d:, d:] = phi * eye
                self["transition"] = transition
                self._velocity_cov[...] = w / (1 - phi**2) * eye

    return ReplayEventModel


@dataclass(frozen=True)
class EventFit:
    """One model's maximum-likelihood fit to one event: log-likelihood (nats; statsmodels' exact
    diffuse likelihood, i.e. that of y_2..y_T given y_1 plus the diffuse first observation's
    constant -D log(2 pi) / 2, the same in all three models), BIC, persistence phi (momentum
    only, else NaN), observation and step variances r and q (length unit^2)."""

    model: str
    loglik: float
    bic: float
    persistence: float
    obs_var: float
    step_var: float


def fit_event(y: np.ndarray, kind: str) -> EventFit:
    """Maximum-likelihood fit of the ``kind`` model (see :func:`_state_space_class`) to one event.

    Args:
        y: (T, D) or (T,) decoded positions of one replay event.
        kind: "stationary", "diffusion" or "momentum".

    Returns:
        An :class:`EventFit`; BIC = -2 loglik + k log n with k = :data:`N_PARAMS` and
        n = D (T - 1) observations.
    """
    y = np.asarray(y, dtype=np.float64)
    y = (y[:, None] if y.ndim == 1 else y) - y[0]
    model = _state_space_class()(y, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and overflow chatter of the optimiser
        params = np.array([]) if kind == "stationary" else model.fit(start_params=_best_start(model), **FIT_OPTIONS)
        model.update(params)
        res = model.ssm.filter()  # the bare Kalman filter's results: llf and the concentrated scale
    scale = float(res.scale)
    w = float(params[0]) if len(params) else 0.0
    n = y.shape[1] * (len(y) - 1)
    llf = float(res.llf)
    return EventFit(kind, llf, -2 * llf + N_PARAMS[kind] * math.log(n),
                    float(params[1]) if kind == "momentum" else math.nan, scale * (1 - w), scale * w)


def _best_start(model) -> np.ndarray:
    """The start of the likelihood search: the best of the moment-based start and the grid of
    :data:`START_SHARES` x :data:`START_PERSISTENCE` (shares only for diffusion)."""
    grid = [(w,) for w in START_SHARES] if model.kind == "diffusion" else \
        [(w, phi) for w in START_SHARES for phi in START_PERSISTENCE]
    starts = [np.asarray(model.start_params, dtype=float)] + [np.array(p) for p in grid]
    llf = [model.loglike(p) for p in starts]
    return starts[int(np.nanargmax(llf))]


def compare_models(y: np.ndarray) -> dict[str, EventFit]:
    """The three models fitted to one event (T, D), name -> :class:`EventFit`.

    The models are nested (momentum at phi -> 0 is diffusion, diffusion at q -> 0 is stationary),
    so each maximum likelihood is at least the simpler model's; where the optimiser stops short of
    that (a local optimum), the simpler model's fit is taken at that limit (phi = 0, or q = 0), as
    the supremum allows.
    """
    fits = {}
    n = (np.shape(y)[1] if np.ndim(y) == 2 else 1) * (len(y) - 1)
    simpler = None
    for kind in MODELS:
        f = fit_event(y, kind)
        if simpler is not None and f.loglik < simpler.loglik:
            f = EventFit(kind, simpler.loglik, -2 * simpler.loglik + N_PARAMS[kind] * math.log(n),
                         0.0 if kind == "momentum" else math.nan, simpler.obs_var, simpler.step_var)
        fits[kind] = simpler = f
    return fits


def best_model(fits: dict[str, EventFit]) -> str:
    """The model of lowest BIC (ties go to the simpler model)."""
    return min(MODELS, key=lambda k: (fits[k].bic, MODELS.index(k)))


def event_windows(n_trajectories: int, steps: int, n_events: int, window: int,
                  rng: np.random.Generator) -> list[tuple[int, int]]:
    """A fixed-seed subsample of replay events: (trajectory, first step) of ``min(n_events, B)``
    distinct trajectories, each with a window of ``window`` steps at a uniform random start."""
    rows = rng.choice(n_trajectories, size=min(n_events, n_trajectories), replace=False)
    starts = rng.integers(0, steps - window + 1, size=len(rows))
    return [(int(r), int(s)) for r, s in zip(rows, starts)]


def classify_events(position: np.ndarray, n_events: int, window: int, rng: np.random.Generator,
                    min_steps: int = 10) -> dict:
    """Best model and momentum persistence of each event of a fixed-seed subsample.

    Args:
        position: (B, T, D) decoded replay after burn-in (unwrapped for headings).
        n_events: events to fit (one window per trajectory, at most B).
        window: steps per event (at most T).
        rng: generator of the subsample.
        min_steps: events shorter than this are not fitted.

    Returns:
        dict with ``best`` (list of model names, one per event), ``persistence`` (array, the
        momentum model's phi per event) and ``events`` (the (trajectory, start) windows). An
        event whose positions do not move at all is stationary without a fit (phi NaN); an event
        whose fit fails is left out.
    """
    x = np.asarray(position, dtype=np.float64)
    window = min(window, x.shape[1])
    out = dict(best=[], persistence=[], events=[])
    if window < min_steps or len(x) == 0:
        out["persistence"] = np.array([])
        return out
    for row, start in event_windows(len(x), x.shape[1], n_events, window, rng):
        y = x[row, start:start + window]
        if np.ptp(y, axis=0).max() == 0:
            best, phi = "stationary", math.nan
        else:
            try:
                fits = compare_models(y)
            except (np.linalg.LinAlgError, ValueError):
                continue
            best, phi = best_model(fits), fits["momentum"].persistence
        out["best"].append(best)
        out["persistence"].append(phi)
        out["events"].append((row, start))
    out["persistence"] = np.asarray(out["persistence"], dtype=float)
    return out


def model_shares(best: list[str]) -> dict[str, float]:
    """Fraction of events each model explains best (NaN for every model when there are none)."""
    n = len(best)
    return {k: (sum(b == k for b in best) / n if n else math.nan) for k in MODELS}


# --- Coverage (McNamee et al. 2021) ---------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """Square cells over the environment; ``inside`` marks the cells of the environment.

    Attributes:
        low: (D,) lower corner (length unit; -pi for the ring).
        cell: side of a cell (length unit).
        shape: cells per axis.
        inside: (prod(shape),) bool, the environment's cells (flat, C order).
        extent: the environment's longer side (the ring's circumference for headings): the unit
            of distance travelled in :func:`coverage_curve`.
        circular: cells of a ring of headings (positions wrap).
    """

    low: np.ndarray
    cell: float
    shape: tuple[int, ...]
    inside: np.ndarray
    extent: float
    circular: bool = False

    @property
    def n_inside(self) -> int:
        return int(self.inside.sum())

    def index(self, points: np.ndarray) -> np.ndarray:
        """Flat cell index (...) of points (..., D); -1 outside the environment's cells."""
        p = np.asarray(points, dtype=np.float64)
        if self.circular:
            p = (p + np.pi) % (2 * np.pi) - np.pi
        f = (p - self.low) / self.cell
        ij = np.floor(f).astype(np.int64)
        if self.circular:
            ij %= self.shape[0]
        else:  # a point on the far edge (a box's wall) belongs to the last cell
            edge = (ij == np.asarray(self.shape)) & (f <= np.asarray(self.shape) + 1e-9)
            ij = np.where(edge, ij - 1, ij)
        ok = np.all((ij >= 0) & (ij < np.asarray(self.shape)), axis=-1)
        flat = np.ravel_multi_index(tuple(np.where(ok[..., None], ij, 0)[..., i] for i in range(len(self.shape))),
                                    self.shape)
        ok &= self.inside[flat]
        return np.where(ok, flat, -1)


def environment_grid(task, bins: int, fallback: np.ndarray | None = None) -> Grid:
    """The coverage grid of a task: ``bins`` square cells along the environment's longer side;
    the environment's cells are those whose centre lies within half a cell diagonal of the
    task's support (every cell of a box; the cells a maze's tracks pass through, both rows where a
    track runs along cell edges: a maze's grid extends one cell beyond its outline, so that
    tracks on the outline's edge have cells on both sides). For the ring of headings, ``bins``
    arcs of 2 pi / bins.

    Args:
        task: a :class:`rnnreplay.tasks.Task` (its ``box``, else its outline, gives the extent).
        bins: cells along the longer side.
        fallback: (..., 2) positions whose bounding box is used when the task has neither.
    """
    if task.circular:
        return Grid(np.array([-np.pi]), 2 * np.pi / bins, (bins,), np.ones(bins, dtype=bool), 2 * np.pi, True)
    if task.box is not None:
        low, high = np.asarray(task.box[0], dtype=float), np.asarray(task.box[1], dtype=float)
    else:
        lines = task.outline()
        pts = np.vstack(lines) if lines else np.asarray(fallback, dtype=float).reshape(-1, task.space_dim)
        low, high = pts.min(0), pts.max(0)
    extent = float((high - low).max())
    cell = extent / bins
    if task.box is None:
        low, high = low - cell, high + cell
    shape = tuple(int(max(1, math.ceil(round((h - lo) / cell, 9)))) for lo, h in zip(low, high))
    centres = np.stack(np.meshgrid(*[low[i] + cell * (np.arange(n) + 0.5) for i, n in enumerate(shape)],
                                   indexing="ij"), -1).reshape(-1, len(shape))
    inside = task.distance_to_support(centres) <= cell * math.sqrt(len(shape)) / 2 + 1e-12
    return Grid(low, cell, shape, inside, extent)


def coarse_distance(travel: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Distance travelled measured every ``lag`` steps (so that per-step jitter, which the noise
    adds, counts once per lag rather than at every step, as in the ``speed`` metric).

    Args:
        travel: (B, T, D) positions (unwrapped for headings).

    Returns:
        steps (J,) = 0, lag, 2 lag, ... and the cumulative distance (B, J) at those steps.
    """
    steps = np.arange(0, travel.shape[1], max(1, int(lag)))
    x = np.asarray(travel, dtype=np.float64)[:, steps]
    hops = np.sqrt((np.diff(x, axis=1) ** 2).sum(-1))
    return steps, np.concatenate([np.zeros((len(x), 1)), np.cumsum(hops, axis=1)], axis=1)


def coverage_curve(travel: np.ndarray, cells: np.ndarray, n_cells: int, n_inside: int, distances,
                   lag: int) -> np.ndarray:
    """Fraction of the environment's cells visited once each trajectory has travelled each distance.

    Args:
        travel: (B, T, D) positions for distances (unwrapped for headings).
        cells: (B, T) flat cell index of each position (-1: outside the environment's cells).
        n_cells: number of flat cell indices; n_inside: cells of the environment.
        distances: (K,) distances travelled (length unit).
        lag: steps between the points at which distance is measured (:func:`coarse_distance`).

    Returns:
        (K, B) coverage in [0, 1]: cells visited up to the first measured step at which the
        trajectory has travelled the distance; NaN for trajectories that never travel that far.
    """
    b, t = cells.shape
    first = np.full(b * n_cells, t, dtype=np.int64)  # first visit step per (trajectory, cell)
    rows, steps = np.nonzero(cells >= 0)
    np.minimum.at(first, rows * n_cells + cells[rows, steps], steps)
    first = np.sort(first.reshape(b, n_cells), axis=1)  # visit steps, ascending; t = never
    at, dist = coarse_distance(travel, lag)
    out = np.full((len(distances), b), np.nan)
    for i, d in enumerate(np.asarray(distances, dtype=float)):
        reached = dist >= d
        hit = reached.any(1)
        step = at[reached.argmax(1)]  # first measured step at distance >= d
        visited = np.array([np.searchsorted(first[j], step[j], side="right") for j in range(b)])
        out[i, hit] = visited[hit] / max(n_inside, 1)
    return out


# --- Hover-and-jump (Pfeiffer & Foster 2015) -------------------------------------------------------

def noise_step(position: np.ndarray) -> float:
    """RMS one-step displacement that observation-like noise alone gives: the intercept at lag 0
    of the mean squared displacement, 2 MSD(1) - MSD(2) (motion's MSD vanishes at lag 0; for a
    random walk q k plus white noise of variance r per coordinate, MSD(k) = D (q k + 2 r), and the
    intercept is 2 D r). Clipped at 0: a convex MSD (momentum) can bias it low."""
    x = np.asarray(position, dtype=np.float64)
    if x.shape[1] < 3:
        return math.nan
    msd1 = ((x[:, 1:] - x[:, :-1]) ** 2).sum(-1).mean()
    msd2 = ((x[:, 2:] - x[:, :-2]) ** 2).sum(-1).mean()
    return math.sqrt(max(2 * msd1 - msd2, 0.0))


def hover_fraction(position: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of one-step lengths ||x(t+1) - x(t)|| at most ``threshold`` x :func:`noise_step`.

    For positions that do not move but carry white noise of variance r per coordinate this is
    P(chi_D^2 <= D threshold^2): 1 - exp(-threshold^2) in 2D (0.221 at 0.5), P(|Z| <= threshold)
    in 1D (0.383 at 0.5); steady motion lowers it towards 0; decoded positions that stand still
    and then jump (hover-and-jump) raise it above the noise-only value."""
    x = np.asarray(position, dtype=np.float64)
    if x.shape[1] < 3:
        return math.nan
    steps = np.sqrt((np.diff(x, axis=1) ** 2).sum(-1))
    return float((steps <= threshold * noise_step(x)).mean())

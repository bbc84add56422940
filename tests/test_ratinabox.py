"""Our vectorised rat motion model against RatInABox itself (a test-only dependency).

Both run RatInABox's default parameters (dt 0.05 s) in a 1 m box from uniform starts: 12
RatInABox agents x 30 s against 100 of ours x 50 s. Samples are thinned to one per second
(beyond the 0.7 s speed coherence time) so that they are close to independent, then compared
with two-sample Kolmogorov-Smirnov tests (scipy.stats.ks_2samp) on speed, rotational velocity and
distance to the nearest wall (thigmotaxis shows there).

Tolerances: KS statistic D < 0.1 and p > 0.001 for each marginal (with ~350 RatInABox and ~4900
of our samples the KS test's 1% critical value is about 0.09); median |value| within 15%
(medians, because wall bounces put rare turns of up to pi / dt = 63 rad/s into the tails; 15% is
about twice the scatter of a 12-agent RatInABox sample: with 30 agents the medians of |rotational
velocity| agreed to 1%). Occupancy: the time share of the outer ring of a 4 x 4 grid (thigmotaxis)
within 0.05 of RatInABox's, on all steps; positions of one agent stay correlated for the ~10 s it
takes to cross the box, so an independent-sample test of the full grid would not be honest at
this run length (its total-variation distance is printed: 0.12 against 30 RatInABox agents).
"""

import numpy as np
import pytest
from scipy import stats

from rnnreplay.tasks.ratmotion import RatMotionParams

from ratinabox_compare import run_ours, run_ratinabox, wall_distance

pytest.importorskip("ratinabox")

THIN = 20  # steps per sample: 1 s at dt 0.05 s
BURN = 20


@pytest.fixture(scope="module")
def samples():
    params = RatMotionParams()
    pos_r, vel_r, rot_r, _ = run_ratinabox(12, 600, params, seed=3)  # 12 agents x 30 s (~8 s wall)
    pos_o, vel_o, rot_o, _ = run_ours(100, 1000, params, seed=3)  # 100 agents x 50 s

    def thin(pos, vel, rot):
        return dict(speed=np.linalg.norm(vel, axis=-1)[:, BURN::THIN].ravel(), rot=rot[:, BURN::THIN].ravel(),
                    wall=wall_distance(pos[:, BURN::THIN]).ravel(), pos=pos[:, BURN:].reshape(-1, 2))

    return thin(pos_o, vel_o, rot_o), thin(pos_r, vel_r, rot_r)


@pytest.mark.parametrize("name", ["speed", "rot", "wall"])
def test_marginals_match_ratinabox(samples, name):
    ours, ref = samples
    result = stats.ks_2samp(ours[name], ref[name])
    print(f"{name}: ours mean {ours[name].mean():.4f} std {ours[name].std():.4f}; RatInABox mean "
          f"{ref[name].mean():.4f} std {ref[name].std():.4f}; KS D {result.statistic:.3f} p {result.pvalue:.3f}")
    assert result.statistic < 0.1 and result.pvalue > 0.001
    median = np.median(np.abs(ref[name]))
    assert abs(np.median(np.abs(ours[name])) - median) < 0.15 * median


def test_occupancy_matches_ratinabox(samples):
    ours, ref = samples
    grid = lambda p: np.clip((p * 4).astype(int), 0, 3) @ [1, 4]  # noqa: E731
    occ = [np.bincount(grid(s["pos"]), minlength=16) / len(s["pos"]) for s in (ours, ref)]
    tv = 0.5 * np.abs(occ[0] - occ[1]).sum()
    print(f"occupancy 4x4: total variation {tv:.3f}; corner+edge share ours {1 - occ[0][[5, 6, 9, 10]].sum():.3f} "
          f"RatInABox {1 - occ[1][[5, 6, 9, 10]].sum():.3f}")
    outer = [1 - o[[5, 6, 9, 10]].sum() for o in occ]
    assert abs(outer[0] - outer[1]) < 0.05


def test_ratinabox_defaults_are_ours():
    from ratinabox.Agent import Agent

    defaults = Agent.default_params
    for key, value in vars(RatMotionParams()).items():
        assert defaults[key] == pytest.approx(value), key

"""The KR24 tasks (openfield, headdirection) and CR26's rat task: geometry, codes, decoding."""

import numpy as np
import pytest

from rnnreplay.tasks import HeadDirection, OpenField, Rat, make_task
from rnnreplay.tasks.cells import HeadDirectionCells, PlaceCells, wrap_angle


@pytest.mark.parametrize("task", [OpenField(n_cells=64), OpenField(n_cells=64, biased=True), HeadDirection(n_cells=64),
                                  HeadDirection(n_cells=64, biased=True), Rat(n_cells=32),
                                  Rat(n_cells=32, input="velocity")], ids=lambda t: f"{t.name}")
def test_batch_shapes(task, rng):
    batch = task.sample(8, 30, rng)
    assert batch.position.shape == (8, 31, task.space_dim)
    assert batch.inputs.shape == (8, 30, task.input_dim)
    assert batch.targets.shape == (8, 30, task.code_dim)
    assert batch.start_code.shape == (8, task.code_dim)
    assert np.isfinite(batch.inputs).all() and np.isfinite(batch.targets).all()


def test_openfield_walk_stays_in_box_and_moves(rng):
    task = OpenField(n_cells=16)
    pos = task.sample_positions(200, 300, rng)
    # the wall band turns the agent at the wall; as in KR24's code a fast step can overshoot it
    # by a few cm (the turn acts from the next step), rarely
    outside = task.distance_to_support(pos)
    assert outside.max() < 0.06 and (outside > 0).mean() < 0.02
    step = np.linalg.norm(np.diff(pos, axis=1), axis=-1)
    # mean step = b sqrt(pi/2) dt = 0.0205 m away from walls (slightly less with the wall band)
    assert 0.017 < step.mean() < 0.021
    # unbiased: occupancy roughly uniform over the 4 x 4 grid after 300 steps
    occ = np.bincount(task.region_of(pos[:, 100:]).ravel(), minlength=16) / pos[:, 100:, 0].size
    assert occ.min() > 0.02 and occ.max() < 0.12


def test_openfield_biased_walk_circles_the_anchor(rng):
    pos = OpenField(n_cells=16, biased=True, init="zero").sample_positions(200, 400, rng)
    radius = np.linalg.norm(pos[:, 200:], axis=-1)
    # KR24: the pull 0.05 (0 - x) per step against ~0.02 m steps keeps the agent near r ~ 0.33 m
    assert 0.2 < radius.mean() < 0.45
    assert radius.max() < 1.0


def test_place_cells_decode_known_positions():
    cells = PlaceCells(np.random.default_rng(0).uniform(-1.1, 1.1, (512, 2)), sigma=0.2)
    code = cells.encode(np.array([[0.0, 0.0], [0.5, -0.3]]))
    np.testing.assert_allclose(code.sum(-1), 1.0, rtol=1e-5)  # softmax: sums to 1
    pts = np.random.default_rng(1).uniform(-0.9, 0.9, (500, 2))
    err = np.linalg.norm(cells.decode(cells.encode(pts)) - pts, axis=-1)
    # 512 random centres in 2.2 m: spacing ~0.1 m; the top-3 mean centre lands within a few cm,
    # within 0.2 m even in the largest gaps between random centres
    assert np.median(err) < 0.05 and np.quantile(err, 0.99) < 0.12 and err.max() < 0.2


def test_rat_place_cells_peak_one_and_decode():
    task = Rat(n_cells=256)
    pts = np.random.default_rng(2).uniform(0.1, 0.9, (400, 2))
    code = task.encode(pts)
    assert code.max() <= 1.0 and code.max(-1).min() > 0.5  # Gaussian fields, peak 1
    err = np.linalg.norm(task.decode(code) - pts, axis=-1)
    assert np.median(err) < 0.05 and err.max() < 0.12  # 256 cells in 1 m^2: spacing ~0.06 m


def test_rat_activity_input_integrates_to_code(rng):
    task = Rat(n_cells=32)
    batch = task.sample(4, 20, rng)
    rebuilt = batch.start_code[:, None] + np.cumsum(batch.inputs, axis=1)
    np.testing.assert_allclose(rebuilt, batch.targets, atol=1e-5)
    pos = task.sample_positions(50, 400, rng)
    assert task.distance_to_support(pos).max() == 0  # inside the 1 m box


def test_headdirection_cells_decode_known_angles():
    cells = HeadDirectionCells(512, spread=np.pi / 6)
    angles = np.linspace(-np.pi, np.pi, 97, endpoint=False)[:, None]
    code = cells.encode(angles)
    assert code.max() == pytest.approx(1.0, abs=1e-3)
    err = np.abs(wrap_angle(cells.decode(code) - angles))
    assert err.max() < 2 * np.pi / 512  # within one cell spacing (0.012 rad)
    assert np.abs(wrap_angle(HeadDirectionCells(128).decode(HeadDirectionCells(128).encode(angles)) - angles)).max() < 0.05


def test_headdirection_input_is_turn_and_bias_is_counter_clockwise(rng):
    task = HeadDirection(n_cells=16)
    batch = task.sample(20, 200, rng)
    rebuilt = wrap_angle(batch.position[:, :1] + np.cumsum(batch.inputs, axis=1))
    np.testing.assert_allclose(np.abs(wrap_angle(rebuilt - batch.position[:, 1:])), 0, atol=1e-4)
    assert abs(batch.inputs.mean()) < 0.02  # unbiased: mean turn 0 (std 0.23 rad/step)
    biased = HeadDirection(n_cells=16, biased=True).sample(20, 200, rng)
    # |N(0, 11.52)| * 0.02: mean turn 0.2304 * sqrt(2 / pi) = 0.184 rad/step
    assert biased.inputs.min() >= 0 and biased.inputs.mean() == pytest.approx(0.184, rel=0.05)


def test_regions_and_support():
    of = OpenField(n_cells=8)
    assert of.region_of(np.array([[-1.0, -1.0], [1.0, 1.0], [0.1, -0.1]])).tolist() == [0, 15, 6]
    np.testing.assert_allclose(of.distance_to_support(np.array([[0.0, 0.0], [1.4, 0.0]])), [0.0, 0.3], atol=1e-9)
    assert of.area == pytest.approx(2.2**2) and of.goals.shape == (0, 2)
    hd = HeadDirection(n_cells=8, sectors=4)
    assert hd.region_of(np.array([[-3.0], [-1.0], [0.5], [3.0]])).tolist() == [0, 1, 2, 3]
    assert hd.area is None and hd.circular


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="input"):
        make_task("rat", input="speed")
    with pytest.raises(ValueError, match="init"):
        OpenField(init="corner")
    with pytest.raises(TypeError):
        Rat(unknown_motion_knob=1.0)

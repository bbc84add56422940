"""Task generators: shapes, seeding, and geometry (paths stay where the task says)."""

import numpy as np
import pytest

from rnnreplay.tasks import TMaze, Triangle, make_task
from rnnreplay.tasks.geometry import walk_polyline


@pytest.mark.parametrize(
    "task", [TMaze(), TMaze(returns=False), Triangle(mode="track"), Triangle(mode="arena")], ids=str
)
def test_batch_shapes_and_consistency(task, rng):
    batch = task.sample(16, 50, rng)
    assert batch.position.shape == (16, 51, 2)
    assert batch.inputs.shape == (16, 50, 2)
    assert batch.targets.shape == (16, 50, task.code_dim)
    assert batch.start_code.shape == (16, task.code_dim)
    # integrating the inputs from the start recovers the path
    rebuilt = batch.position[:, :1] + np.cumsum(batch.inputs, axis=1)
    np.testing.assert_allclose(rebuilt, batch.position[:, 1:], atol=1e-5)
    assert np.all(task.distance_to_support(batch.position) < 1e-6)


def test_same_seed_same_paths():
    a = TMaze().sample_positions(8, 40, np.random.default_rng(5))
    b = TMaze().sample_positions(8, 40, np.random.default_rng(5))
    c = TMaze().sample_positions(8, 40, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_tmaze_runs_up_the_stem_then_into_an_arm(rng):
    task = TMaze(speed_min=0.04, speed_max=0.05, returns=False)
    pos = task.sample_positions(200, 120, rng)  # 120 steps * >= 0.04 >= 2 units: every path finishes
    np.testing.assert_allclose(pos[:, 0], [[0.0, -1.0]] * 200)
    end = pos[:, -1]
    assert np.all(np.isclose(np.abs(end[:, 0]), 1.0, atol=1e-5)) and np.allclose(end[:, 1], 0.0, atol=1e-5)
    left = (end[:, 0] < 0).mean()
    assert 0.35 < left < 0.65  # p_left = 0.5
    # y never decreases: the agent does not walk back down the stem
    assert np.all(np.diff(pos[..., 1], axis=1) >= -1e-6)


def test_tmaze_returns_visit_both_arms(rng):
    pos = TMaze(speed_min=0.05, speed_max=0.05, speed_jitter=0.0).sample_positions(100, 400, rng)
    visited_both = ((pos[..., 0] < -0.9).any(1) & (pos[..., 0] > 0.9).any(1)).mean()
    assert visited_both > 0.5


def test_triangle_track_goes_round(rng):
    task = Triangle(mode="track", speed_min=0.05, speed_max=0.05, speed_jitter=0.0)
    pos = task.sample_positions(10, 60, rng)  # 3 units: once round the triangle
    np.testing.assert_allclose(pos[:, 0], pos[:, -1], atol=1e-4)
    near_vertex = np.linalg.norm(pos[:, :, None] - task.goals, axis=-1).min(-1) < 1e-6
    assert np.all(near_vertex[:, 0])


def test_triangle_arena_stays_inside(rng):
    task = Triangle(mode="arena")
    pos = task.sample_positions(50, 300, rng)
    assert task.contains(pos).all()
    assert np.linalg.norm(pos[:, -1] - pos[:, 0], axis=-1).mean() > 0.1  # it moves


def test_regions_of_known_points():
    maze = TMaze()
    pts = np.array([[0, -0.8], [0, 0], [-0.7, 0], [0.7, 0]])
    assert maze.region_of(pts).tolist() == [0, 1, 2, 3]
    tri = Triangle()
    assert tri.region_of(tri.goals).tolist() == [0, 1, 2]
    mid01 = tri.goals[:2].mean(0)
    assert tri.region_names[tri.region_of(mid01[None])[0]] == "edge_01"


def test_distance_to_support():
    maze = TMaze()
    np.testing.assert_allclose(maze.distance_to_support(np.array([[0.5, 0.3], [0.2, -0.5]])), [0.3, 0.2])
    assert Triangle(mode="arena").distance_to_support(np.zeros((1, 2)))[0] == 0
    assert Triangle(mode="track").distance_to_support(np.zeros((1, 2)))[0] > 0.2


def test_walk_polyline_clamps_at_end():
    wp = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]]])
    out = walk_polyline(wp, np.array([[0.0, 0.5, 1.5, 3.0, 9.0]]))
    np.testing.assert_allclose(out[0], [[0, 0], [0.5, 0], [1, 0.5], [1, 2], [1, 2]])


def test_make_task_rejects_unknown():
    with pytest.raises(ValueError, match="unknown task kind"):
        make_task("maze9")
    with pytest.raises(ValueError, match="mode"):
        Triangle(mode="circle")

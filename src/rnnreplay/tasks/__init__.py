"""Tasks: latent path generators with their codes and geometry. ``make_task`` builds one by name."""

from __future__ import annotations

from .base import PathBatch, Task
from .headdirection import HeadDirection
from .openfield import OpenField
from .rat import Rat
from .tmaze import TMaze
from .triangle import Triangle

TASKS: dict[str, type[Task]] = {
    "tmaze": TMaze, "triangle": Triangle, "openfield": OpenField, "headdirection": HeadDirection, "rat": Rat,
}


def make_task(kind: str, **params) -> Task:
    """Build a task by its generator name (``kind``) with keyword parameters from the config."""
    if kind not in TASKS:
        raise ValueError(f"unknown task kind {kind!r}; known: {sorted(TASKS)}")
    return TASKS[kind](**params)


__all__ = ["PathBatch", "Task", "TMaze", "Triangle", "OpenField", "HeadDirection", "Rat", "TASKS", "make_task"]

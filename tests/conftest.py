"""Shared fixtures: the repository root, the default config and a small trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnreplay.config import load_yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_config() -> dict:
    return load_yaml(ROOT / "config.yaml")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)

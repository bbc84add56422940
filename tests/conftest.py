"""Shared fixtures: the repository root, the default config and a small trained model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnreplay.config_files import load_yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_config() -> dict:
    return load_yaml(ROOT / "config.yaml")


@pytest.fixture
def train_job():
    """A small TrainJob (T-maze, 4 units) for tests that save or load model files."""
    from rnnreplay.jobs import Mechanisms, TaskSetup, TrainJob, TrainSettings
    from rnnreplay.params import CellParams

    return TrainJob(TaskSetup("tmaze", "tmaze"), "leak", 0, CellParams(hidden=4, leak=0.2), Mechanisms(),
                    TrainSettings(steps=3, batch=4))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def snakemake(*args, cwd=ROOT, check=True, timeout=900, snakefile=ROOT / "Snakefile") -> subprocess.CompletedProcess:
    """Run this checkout's workflow (or the one of ``snakefile``) with this interpreter's snakemake."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A directory where the whole workflow has run on tests/configs/tiny.yaml (shared by modules)."""
    work = tmp_path_factory.mktemp("tiny")
    shutil.copy(TINY, work / "config.yaml")
    snakemake("--cores", "2", "--configfile", "config.yaml", "--directory", str(work), cwd=work)
    return work

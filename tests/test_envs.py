"""The conda environment file and pyproject.toml list the same dependencies."""

import re
import tomllib

import yaml

CONDA_NAMES = {"pytorch": "torch"}


def _name_and_bound(requirement: str):
    name, bound = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", requirement).groups()
    return CONDA_NAMES.get(name.lower(), name.lower()), bound.replace(" ", "")


def test_env_file_matches_pyproject(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((root / "envs" / "rnnreplay.yaml").read_text())
    conda = dict(_name_and_bound(d) for d in env["dependencies"] if isinstance(d, str))
    assert conda.pop("python") == project["requires-python"]
    assert conda == dict(_name_and_bound(d) for d in project["dependencies"])

"""Safe loading: model files load with ``torch.load(weights_only=True)`` and YAML with a safe loader,
so a crafted file can not run code; each refusal is a clear error naming the file."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
import yaml

from conftest import snakemake
from rnnreplay import io
from rnnreplay.config_files import load_yaml


class Payload:
    """Unpickling this calls ``Path.touch(marker)``: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_model_file_with_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {}, "job_json": "{}", "x": Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="evil.pt: not a rnnreplay model file"):
        io.load_model_file(tmp_path / "evil.pt")
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload does work when unpickled unsafely
    assert marker.exists()


def test_load_model_file_uses_weights_only(tmp_path, monkeypatch, train_job):
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    io.save_model(tmp_path / "m.pt", torch.nn.Linear(2, 2), train_job)
    io.load_model_file(tmp_path / "m.pt")
    assert seen.get("weights_only") is True


EVIL_YAML = "seeds: !!python/object/apply:pathlib.Path.touch [{marker}]\n"


def test_yaml_with_python_tags_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "c.yaml").write_text(EVIL_YAML.format(marker=marker))
    with pytest.raises(yaml.YAMLError, match="python/object/apply"):
        load_yaml(tmp_path / "c.yaml")
    assert not marker.exists()


@pytest.mark.workflow
def test_snakemake_refuses_a_config_with_python_tags(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "config.yaml").write_text(EVIL_YAML.format(marker=marker))
    proc = snakemake("-n", "--configfile", "config.yaml", "--directory", str(tmp_path), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and not marker.exists()
    assert "Traceback" not in proc.stdout + proc.stderr

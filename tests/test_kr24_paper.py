"""KR24 at its own scale (workflow/configs/kr24_paper.yaml) and paper.yaml built on it: paper.yaml
``extends`` kr24_paper.yaml, repeating none of its keys, and the two merged are a valid config with
every experiment of both papers."""

from pathlib import Path

import pytest

from rnnreplay import config as rc
from rnnreplay import config_files as rcf
from rnnreplay import config_validation as rcv

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "workflow" / "configs"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
KR24_TASKS = {"openfield", "openfield_biased", "headdirection", "headdirection_biased"}


def leaves(mapping: dict, path=()) -> set:
    """Key paths of every non-mapping value."""
    out = set()
    for key, value in mapping.items():
        out |= leaves(value, path + (key,)) if isinstance(value, dict) else {path + (key,)}
    return out


def test_kr24_paper_is_kr24_at_its_own_scale():
    cfg = rcf.load_config(CONFIGS / "kr24_paper.yaml")
    assert rcv.config_errors(cfg, SCHEMA, memory_mb=float("inf")) == []
    assert set(cfg["tasks"]) == KR24_TASKS and len(cfg["seeds"]) == 5
    assert (cfg["train"]["batch"], cfg["train"]["steps"], cfg["data"]["steps"]) == (200, 2500, 100)
    for task in KR24_TASKS:
        hidden = rc.cell_knobs(cfg, task, "noisy")["hidden"]
        assert hidden == (128 if task.startswith("headdirection") else 512)
        assert cfg["tasks"][task]["params"]["n_cells"] == 512
    assert set(rc.task_variants(cfg, "openfield")) == {"noisy", "noiseless", "gru"}
    assert rc.cell_knobs(cfg, "openfield", "gru")["cell"] == "gru"
    assert {"K1", "K2", "K3", "K4"} <= set(cfg["claims"])
    assert cfg["claims"]["decision"]["learned_max_error_ratio"] == 0.5  # the learning gate


def test_paper_extends_kr24_paper_without_repeating_a_key():
    own = rcf.load_yaml(CONFIGS / "paper.yaml")
    assert own[rcf.BASE_KEY] == "workflow/configs/kr24_paper.yaml"
    assert not leaves({k: v for k, v in own.items() if k != rcf.BASE_KEY}) & leaves(
        rcf.load_yaml(CONFIGS / "kr24_paper.yaml"))
    paper, kr24 = rcf.load_config(CONFIGS / "paper.yaml"), rcf.load_config(CONFIGS / "kr24_paper.yaml")
    assert rcf.BASE_KEY not in paper and rcv.config_errors(paper, SCHEMA, memory_mb=float("inf")) == []
    assert set(paper["tasks"]) == KR24_TASKS | {"tmaze", "triangle", "rat"}
    for task in KR24_TASKS:  # the KR24 part of paper.yaml is kr24_paper.yaml's
        assert paper["tasks"][task] == kr24["tasks"][task]
        for variant in rc.task_variants(kr24, task):
            assert rc.train_job(paper, task, variant, 0) == rc.train_job(kr24, task, variant, 0)
            assert rc.metrics_job(paper, task, variant, 0) == rc.metrics_job(kr24, task, variant, 0)
    assert {"C1", "C6", "K1", "K4"} <= set(paper["claims"])


def test_merge_follows_snakemake_and_refuses_missing_or_looping_bases(tmp_path):
    assert rcf.merge_configs({"a": {"x": 1, "y": [1, 2]}, "b": 2}, {"a": {"y": [3]}, "c": 4}) == \
        {"a": {"x": 1, "y": [3]}, "b": 2, "c": 4}
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nseeds: [1]\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ValueError, match="extends itself"):
        rcf.load_config(tmp_path / "a.yaml", root=tmp_path)
    (tmp_path / "c.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(ValueError, match="no such config file"):
        rcf.load_config(tmp_path / "c.yaml", root=tmp_path)

"""Bad input gets a clear error: a broken config stops the workflow before any job with one line
per problem naming its key; broken input files and diverging training stop a stage with one line."""

from __future__ import annotations

import contextlib
import copy
import io as io_
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnreplay import config as rc
from rnnreplay import io
from rnnreplay.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TINY = rc.load_yaml(ROOT / "tests" / "configs" / "tiny.yaml")

outside_unit = st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True),
                         st.just(float("nan")))  # outside (0, 1]
negative = st.one_of(st.floats(max_value=0.0, exclude_max=True), st.integers(max_value=-1))
not_a_number = st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2), st.booleans())


def _set(*path):
    """A mutation setting ``config[path] = value``."""
    def mutate(cfg, value):
        node = cfg
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _delete(*path):
    def mutate(cfg, value):
        node = cfg
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


# (kind of mistake, values to try, how to apply one, a key the message must name)
BAD = [
    ("negative seed", st.integers(max_value=-1), lambda c, v: c["seeds"].append(v), "seeds."),
    ("seed not an integer", st.one_of(st.text(max_size=3), st.floats().filter(lambda x: not x.is_integer())), lambda c, v: c["seeds"].append(v), "seeds."),
    ("no seeds", st.just([]), _set("seeds"), "seeds"),
    ("duplicate seeds", st.just([0, 0]), _set("seeds"), "seeds"),
    ("leak outside (0,1]", outside_unit, _set("model", "leak"), "model.leak"),
    ("friction outside (0,1]", outside_unit, _set("model", "friction"), "model.friction"),
    ("variant leak outside (0,1]", outside_unit, _set("variants", "noleak", "leak"), "variants.noleak"),
    ("variant friction outside (0,1]", outside_unit, _set("variants", "leak_adapt_mom", "friction"),
     "variants.leak_adapt_mom"),
    ("negative sigma", negative, _set("model", "sigma"), "model.sigma"),
    ("infinite sigma", st.just(float("inf")), _set("model", "sigma"), "model.sigma"),
    ("sigma not a number", not_a_number, _set("model", "sigma"), "model.sigma"),
    ("hidden not a positive integer", st.one_of(st.integers(max_value=0), st.floats(0.5, 100).filter(lambda x: not x.is_integer())),
     _set("model", "hidden"), "model.hidden"),
    ("unknown activation", st.sampled_from(["sigmoid", "ReLU", ""]), _set("model", "activation"), "model.activation"),
    ("unknown mechanism switch", st.sampled_from(["train", "never"]), _set("model", "momentum_in"), "model.momentum_in"),
    ("unknown task kind", st.sampled_from(["maze", "square", "TMaze"]), _set("tasks", "tmaze", "kind"),
     "tasks.tmaze.kind"),
    ("unknown task parameter", st.sampled_from(["speed", "arms", "colour"]),
     lambda c, v: c["tasks"]["tmaze"]["params"].update({v: 1}), "tasks.tmaze.params"),
    ("bad task parameter value", st.sampled_from(["circle", "edges"]), _set("tasks", "triangle", "params", "mode"),
     "tasks.triangle.params"),
    ("model_from names no variant", st.sampled_from(["leak", "nope", "noleak2"]),
     _set("variants", "leak_replay_lv0.5", "model_from"), "variants.leak_replay_lv0.5.model_from"),
    ("model_from names a replay-only variant", st.just("leak_replay_lv0.5"),
     lambda c, v: c["variants"].update({"chain": {"model_from": v}}), "variants.chain.model_from"),
    ("sweep names no variant", st.sampled_from(["leak", "lv0.3"]),
     lambda c, v: c["figures"]["momentum_sweep"].update({v: 0.5}), "figures.momentum_sweep"),
    ("examples seed not run", st.integers(min_value=2, max_value=99), _set("figures", "examples_seed"),
     "figures.examples_seed"),
    ("unknown top-level key", st.sampled_from(["seed", "Model", "variant"]),
     lambda c, v: c.update({v: 1}), "'{v}'"),
    ("unknown key in a section", st.sampled_from(["epochs", "learning_rate"]),
     lambda c, v: c["train"].update({v: 1}), "'{v}'"),
    ("unknown knob in a variant", st.sampled_from(["leak_rate", "tau"]),
     lambda c, v: c["variants"]["noleak"].update({v: 0.5}), "variants.noleak"),
    ("missing section", st.sampled_from(["data", "train", "replay", "metrics", "tasks", "model"]),
     lambda c, v: c.pop(v), "'{v}'"),
    ("missing required key", st.sampled_from(["steps", "batch", "lr"]), lambda c, v: c["train"].pop(v), "'{v}'"),
    ("learning rate not positive", st.one_of(st.floats(max_value=0), st.text(max_size=3)), _set("train", "lr"),
     "train.lr"),
    ("too few steps", st.integers(max_value=1), _set("data", "steps"), "data.steps"),
    ("negative noise multiplier", negative, _set("replay", "noise_multiplier"), "replay.noise_multiplier"),
    ("unknown device", st.sampled_from(["gpu", "CUDA", "tpu"]), _set("device"), "device"),
    ("variant not a mapping", st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.text(max_size=3)),
     _set("variants", "noleak"), "variants.noleak"),
    ("bad task name", st.sampled_from(["t-maze", "1maze", "t maze"]),
     lambda c, v: c["tasks"].update({v: {"kind": "tmaze"}}), "tasks"),
]


@st.composite
def bad_configs(draw, kinds=BAD):
    """(kind, config, key) with one mistake of ``kind`` put into the tiny config."""
    kind, values, mutate, key = draw(st.sampled_from(kinds))
    value = draw(values)
    cfg = copy.deepcopy(TINY)
    mutate(cfg, value)
    return kind, cfg, key.format(v=value)


def test_there_are_at_least_20_kinds_of_bad_config():
    assert len({kind for kind, *_ in BAD}) >= 20


def test_the_tiny_and_default_configs_are_valid():
    assert rc.config_errors(TINY, SCHEMA) == []
    assert rc.config_errors(rc.load_yaml(ROOT / "config.yaml"), SCHEMA) == []


@pytest.mark.parametrize("kind", [k[0] for k in BAD])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_validator_names_the_key_of_every_kind_of_mistake(kind, data):
    _, cfg, key = data.draw(bad_configs([k for k in BAD if k[0] == kind]))
    errors = rc.config_errors(cfg, SCHEMA)
    assert errors, f"{kind}: accepted {cfg}"
    assert any(key in e for e in errors), (kind, key, errors)
    assert all("\n" not in e for e in errors)


def snakemake_dry_run(cfg, tmp: Path) -> subprocess.CompletedProcess:
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"),
                           "--configfile", "config.yaml", "--directory", str(tmp)],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.workflow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bad_configs())
def test_snakemake_stops_a_bad_config_with_a_readable_message(case, tmp_path_factory):
    """Each snakemake call costs seconds, so only a few examples; the validator test covers all kinds."""
    kind, cfg, key = case
    proc = snakemake_dry_run(cfg, tmp_path_factory.mktemp("bad"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, (kind, out)
    assert "rnnreplay: invalid config" in out and key in out, (kind, out)
    assert "Traceback" not in out and 'File "' not in out, (kind, out)
    assert "Job stats" not in out and "rule " not in out, (kind, out)  # nothing planned, nothing run


# ---------------------------------------------------------------------------------------------
# Bad input files and diverging training, through the CLI: exit 1, one line, no traceback.

DATA = {"train_trajectories": 16, "steps": 10, "test_trajectories": 4, "test_steps": 12}


def cli(*args) -> subprocess.CompletedProcess:
    """Run ``python -m rnnreplay ARGS`` in this process (fast: torch is imported once); an
    exception escaping ``main`` would fail the test, as a traceback would show in a log."""
    err = io_.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 1
            print(exc.code if isinstance(exc.code, str) else "", file=sys.stderr)
    return subprocess.CompletedProcess(args, code, "", err.getvalue())


def assert_clean_failure(proc, *needles) -> str:
    """Exit 1; the last line (after any progress lines) is the one error line; no traceback."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and 'File "' not in proc.stderr, proc.stderr
    assert lines[-1].startswith("rnnreplay ") and ": error: " in lines[-1], proc.stderr
    assert not any("error" in line for line in lines[:-1]), proc.stderr
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    return lines[-1]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """Tiny train and replay jobs and their train paths, test paths and trained model."""
    tmp = tmp_path_factory.mktemp("job")
    cfg = {**TINY, "data": DATA, "train": {**TINY["train"], "steps": 3}}
    (tmp / "train.json").write_text(rc.to_json(rc.train_job(cfg, "tmaze", "noleak", 0)))
    (tmp / "replay.json").write_text(rc.to_json(rc.replay_job(cfg, "tmaze", "noleak", 0)))
    for split in ("train", "test"):
        job = rc.to_json(rc.synthesis_job(cfg, "tmaze", split, 0))
        assert cli("synthesize", "--job", job, "--out", tmp / f"{split}.nc").returncode == 0
    proc = cli("train", "--job", f"@{tmp / 'train.json'}", "--train-paths", tmp / "train.nc",
               "--out-model", tmp / "m.pt", "--out-loss", tmp / "loss.nc")
    assert proc.returncode == 0, proc.stderr
    return tmp


def replay(job, model, test, out):
    return cli("replay", "--job", f"@{job / 'replay.json'}", "--model", model, "--test-paths", test, "--out", out)


def test_missing_input_file(job):
    proc = replay(job, job / "nope.pt", job / "test.nc", job / "r.nc")
    assert_clean_failure(proc, "nope.pt", "no such")
    proc = replay(job, job / "m.pt", job / "absent.nc", job / "r.nc")
    assert_clean_failure(proc, "absent.nc", "no such")
    assert not (job / "r.nc").exists()


def test_truncated_input_files(job, tmp_path):
    for name in ("test.nc", "m.pt"):
        data = (job / name).read_bytes()
        (tmp_path / name).write_bytes(data[: len(data) // 2])
    assert_clean_failure(replay(job, job / "m.pt", tmp_path / "test.nc", tmp_path / "r.nc"),
                         "test.nc", "not a readable NetCDF")
    assert_clean_failure(replay(job, tmp_path / "m.pt", job / "test.nc", tmp_path / "r.nc"),
                         "m.pt", "not a rnnreplay model")
    assert not (tmp_path / "r.nc").exists()


def test_foreign_input_files(job, tmp_path):
    # a loss file where test paths belong; a NetCDF where the model belongs; a foreign torch file
    assert_clean_failure(replay(job, job / "m.pt", job / "loss.nc", tmp_path / "r.nc"),
                         "loss.nc", "missing variables ['position']")
    assert_clean_failure(replay(job, job / "test.nc", job / "test.nc", tmp_path / "r.nc"),
                         "test.nc", "not a rnnreplay model")
    import torch

    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    assert_clean_failure(replay(job, tmp_path / "other.pt", job / "test.nc", tmp_path / "r.nc"),
                         "other.pt", "not a rnnreplay model")
    assert not (tmp_path / "r.nc").exists()


def test_diverging_training_stops_with_its_step_and_writes_nothing(job, tmp_path):
    spec = json.loads((job / "train.json").read_text())
    spec["settings"].update(lr=1e12, steps=50, grad_clip=None)
    spec["cell"]["activation"] = "relu"
    proc = cli("train", "--job", json.dumps(spec), "--log-every", "5", "--train-paths", job / "train.nc",
               "--out-model", tmp_path / "m.pt", "--out-loss", tmp_path / "loss.nc")
    line = assert_clean_failure(proc, "at step", "of 50", "no output written")
    step = int(re.search(r"at step (\d+)", line).group(1))
    logged = [int(m.group(1)) for m in re.finditer(r"^step (\d+)/50 loss (\S+)", proc.stderr, re.M)]
    assert all(s < step for s in logged)  # steps count from 1 in logs, loss files and errors alike
    assert list(tmp_path.iterdir()) == []


def test_a_real_process_fails_with_one_line(job, tmp_path):
    """The same as above through a separate interpreter, as Snakemake runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    for spec in ("{not json", f"@{job / 'replay.json'}"):
        proc = subprocess.run([sys.executable, "-m", "rnnreplay", "replay", "--job", spec, "--model",
                               tmp_path / "none.pt", "--test-paths", job / "test.nc", "--out", tmp_path / "r.nc"],
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert ("not valid JSON" if spec.startswith("{") else "none.pt: no such") in proc.stderr


def test_read_dataset_reports_foreign_files(tmp_path):
    (tmp_path / "x.nc").write_text("hello")
    with pytest.raises(ValueError, match="x.nc: not a readable NetCDF"):
        io.read_dataset(tmp_path / "x.nc")

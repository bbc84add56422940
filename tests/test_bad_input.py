"""Bad input gets a clear error: a broken config stops the workflow before any job with one line
per problem naming its key; broken input files and diverging training stop a stage with one line."""

from __future__ import annotations

import contextlib
import copy
import io as io_
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnreplay import config as rc
from rnnreplay import config_files as rcf
from rnnreplay import config_validation as rcv
from rnnreplay import io
from rnnreplay.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TINY = rcf.load_yaml(ROOT / "tests" / "configs" / "tiny.yaml")

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


INTEGER_KEYS = [("data", "steps"), ("data", "test_trajectories"), ("replay", "steps"), ("replay", "trajectories"),
                ("train", "batch"), ("metrics", "burn_in"), ("model", "hidden"), ("seeds", 0)]
# (key, a value from which on every job estimate exceeds the memory of any machine: over 1 TiB)
HUGE = [(("model", "hidden"), 10**6), (("replay", "steps"), 10**11), (("replay", "trajectories"), 10**11),
        (("data", "train_trajectories"), 10**10), (("data", "test_trajectories"), 10**10), (("train", "batch"), 10**10)]

# (kind of mistake, values to try, how to apply one, a key the message must name: a format string
# of the value ``v``, or a function of it)
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
    # Configs that used to validate, then crash or quietly change meaning (issue 15)
    ("integer field given a whole float", st.tuples(st.sampled_from(INTEGER_KEYS), st.integers(2, 30)),
     lambda c, v: _set(*v[0])(c, float(v[1])), lambda v: ".".join(map(str, v[0]))),
    ("size beyond any machine's memory", st.one_of(*[st.tuples(st.just(k), st.integers(low, 100 * low)) for k, low in HUGE]),
     lambda c, v: _set(*v[0])(c, v[1]), lambda v: ".".join(v[0])),
    ("burn-in as long as the replay", st.integers(39, 10**6), _set("metrics", "burn_in"), "metrics.burn_in"),
    ("speed lag longer than the test paths", st.integers(31, 10**6), _set("metrics", "speed_lag"), "metrics.speed_lag"),
    ("hidden states stored less often than once", st.integers(41, 10**4), _set("replay", "hidden_every"),
     "replay.hidden_every"),
    ("variant name that is not a safe folder", st.sampled_from(["..", ".", ".x", "x.", "..."]),
     lambda c, v: c["variants"].update({v: {}}), "variants: '{v}'"),
    ("variant names that differ only in case", st.sampled_from(["Noleak", "NOLEAK", "noLeak"]),
     lambda c, v: c["variants"].update({v: {"leak": 0.5}}), "'{v}'"),
    ("task names that differ only in case", st.sampled_from(["Tmaze", "TMAZE", "tMaze"]),
     lambda c, v: c["tasks"].update({v: {"kind": "tmaze"}}), "'{v}'"),
    ("replay-only variant with another shape", st.integers(17, 64), _set("variants", "leak_replay_lv0.5", "hidden"),
     "variants.leak_replay_lv0.5.hidden"),
]


@st.composite
def bad_configs(draw, kinds=BAD):
    """(kind, config, key) with one mistake of ``kind`` put into the tiny config."""
    kind, values, mutate, key = draw(st.sampled_from(kinds))
    value = draw(values)
    cfg = copy.deepcopy(TINY)
    mutate(cfg, value)
    return kind, cfg, key(value) if callable(key) else key.format(v=value)


def test_there_are_at_least_20_kinds_of_bad_config():
    assert len({kind for kind, *_ in BAD}) >= 20


def test_the_tiny_and_default_configs_are_valid():
    assert rcv.config_errors(TINY, SCHEMA) == []
    assert rcv.config_errors(rcf.load_yaml(ROOT / "config.yaml"), SCHEMA) == []


@pytest.mark.parametrize("kind", [k[0] for k in BAD])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_validator_names_the_key_of_every_kind_of_mistake(kind, data):
    _, cfg, key = data.draw(bad_configs([k for k in BAD if k[0] == kind]))
    errors = rcv.config_errors(cfg, SCHEMA)
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
    cfg = {**TINY, "data": DATA, "train": {**TINY["train"], "steps": 3, "curriculum": []}}
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
                         "loss.nc", "this is the loss curve of tmaze/noleak", "the job needs the test paths of tmaze")
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


# ---------------------------------------------------------------------------------------------
# Issue 15, class by class: repeated YAML keys, whole floats, sizes, lengths, names (config);
# input files that belong to another job; OS errors. Then one fuzz test over all of them.


def test_repeated_yaml_keys_are_refused_naming_file_line_and_key(tmp_path):
    text = (ROOT / "tests" / "configs" / "tiny.yaml").read_text()
    text = text.replace("device: cpu\n", "device: cpu\ndevice: cuda\nseeds: [0]\n")
    text = text.replace("metrics: {burn_in: 5,", "metrics: {burn_in: 5, burn_in: 6,")
    (tmp_path / "c.yaml").write_text(text)
    errors = rcf.config_file_errors(tmp_path / "c.yaml")
    assert [e.split(": ", 2)[1] for e in errors] == ["device", "seeds", "metrics.burn_in"], errors
    assert all(str(tmp_path / "c.yaml") in e and "key repeated (first at line" in e for e in errors)
    with pytest.raises(ValueError, match=r"c.yaml:4: device: key repeated \(first at line 3\).*\(and 2 more\)"):
        rcf.load_yaml(tmp_path / "c.yaml")
    with pytest.raises(SystemExit, match="device: key repeated"):
        rcv.exit_if_invalid(TINY, SCHEMA, files=[tmp_path / "c.yaml"])


def test_integer_fields_refuse_whole_floats():
    cfg = copy.deepcopy(TINY)
    cfg["data"]["steps"] = 20.0
    cfg["variants"]["noleak"]["train"] = {"batch": 8.0}
    assert rcv.config_errors(cfg, SCHEMA) == ["data.steps: 20.0 is not of type 'integer'",
                                              "variants.noleak.train.batch: 8.0 is not of type 'integer'"]


def test_sizes_are_checked_against_memory_naming_the_key_and_the_estimate():
    assert rcv.config_errors(TINY, SCHEMA, memory_mb=64) == []
    cfg = copy.deepcopy(TINY)
    cfg["tasks"]["rat"]["model"] = {"hidden": 10**7}
    [line] = rcv.config_errors(cfg, SCHEMA)
    assert line.startswith("tasks.rat.model.hidden: training of rat/noleak would need about ") and "PiB" in line
    assert "(tasks.rat.model.hidden 10000000)^2" in line and "of this machine's memory" in line
    errors = rcv.config_errors(TINY, SCHEMA, memory_mb=0.5)  # the tiny jobs need up to ~1.5 MiB (2 seeds each)
    assert errors and all(re.match(r"[\w.]+: \w+ of [\w/]+ would need about [\d.]+ [KM]iB of memory \(", e)
                          for e in errors)
    assert any("mem_mb 0.5 (--resources)" in e for e in errors)
    assert rcv.config_errors(TINY, SCHEMA, memory_mb=math.inf) == []


def test_burn_in_and_lags_are_checked_against_replay_and_test_paths():
    cfg = copy.deepcopy(TINY)
    cfg["metrics"].update(burn_in=39, speed_lag=31)
    cfg["tasks"]["rat"]["data"] = {"test_steps": 60}
    assert rcv.config_errors(cfg, SCHEMA) == [
        "metrics.burn_in: 39 leaves fewer than 2 of the replay.steps 40 replay steps (at most 38); the metrics would "
        "silently drop 38 steps instead",
        "metrics.speed_lag: 31 is longer than the test paths of tmaze, triangle, openfield, headdirection "
        "(data.test_steps 30); speed and compression would compare replay at lag 31 with test paths at lag 30"]


def test_names_are_safe_folders_that_do_not_collide():
    cfg = copy.deepcopy(TINY)
    cfg["variants"][".."] = {}
    cfg["tasks"]["tmaze"]["variants"].append("..")
    cfg["variants"]["NoLeak"] = {"leak": 0.5}
    assert rcv.config_errors(cfg, SCHEMA) == [
        "variants: '..' is not a safe folder name (results/models/<task>/../seed0.pt would leave its folder); use "
        "letters, digits and _, with dots only inside the name",
        "variants: 'noleak' and 'NoLeak' differ only in case; on a case-insensitive file system (macOS, Windows) both "
        "would write results/models/<task>/noleak/seed0.pt"]


def dry_run_text(text: str, tmp: Path, *extra) -> subprocess.CompletedProcess:
    """A Snakemake dry run of the config ``text`` given as config.yaml (the Snakefile's own
    configfile, or ``--configfile`` with ``extra``)."""
    (tmp / "config.yaml").write_text(text)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"),
                           "--directory", str(tmp), *extra], cwd=tmp, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.workflow
@pytest.mark.parametrize("extra", [(), ("--configfile", "config.yaml")])
def test_snakemake_refuses_repeated_keys_and_floats_before_any_job(extra, tmp_path):
    text = (ROOT / "tests" / "configs" / "tiny.yaml").read_text().replace("device: cpu\n", "device: cpu\ndevice: cuda\n")
    text = text.replace("test_steps: 30}", "test_steps: 30.0}")
    proc = dry_run_text(text, tmp_path, *extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out and "rule " not in out, out
    assert "config.yaml:4: device: key repeated (first at line 3)" in out, out
    assert "data.test_steps: 30.0 is not of type 'integer'" in out, out


@pytest.mark.workflow
def test_snakemake_checks_sizes_against_resources_mem_mb(tmp_path):
    text = (ROOT / "tests" / "configs" / "tiny.yaml").read_text().replace("replay: {trajectories: 6, steps: 40,",
                                                                          "replay: {trajectories: 6, steps: 4000,")
    proc = dry_run_text(text, tmp_path, "--resources", "mem_mb=5")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "- replay.steps: replay of openfield/gru would need about" in out, out
    assert "more than the 5 MiB of mem_mb 5 (--resources)" in out and "Traceback" not in out, out


# --- Input files of another job, through the CLI ------------------------------------------------

WORLD_TASKS = {"tmaze": ["noleak", "leak_adapt_mom"], "headdirection": ["noisy"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Every file of two tasks (2-D tmaze with two variants, 1-D head direction) at seed 0, and
    tmaze's seed-1 training pool: ``files[(kind, task, variant or split)]`` -> path, and each
    (task, variant)'s train, replay and metrics jobs as JSON files."""
    tmp = tmp_path_factory.mktemp("world")
    cfg = {**TINY, "data": DATA, "train": {**TINY["train"], "steps": 3, "curriculum": []},
           "tasks": {t: {**TINY["tasks"][t], "variants": v} for t, v in WORLD_TASKS.items()}}
    files, jobs = {}, {}
    for task, variants in WORLD_TASKS.items():
        for split, seed in (("train", 0), ("test", None), *([("train", 1)] if task == "tmaze" else [])):
            name = f"{split}{'' if seed is None else seed}"
            files[("paths", task, name)] = tmp / task / f"{name}.nc"
            job = rc.to_json(rc.synthesis_job(cfg, task, split, seed))
            assert cli("synthesize", "--job", job, "--out", files[("paths", task, name)]).returncode == 0
        for variant in variants:
            folder = tmp / task / variant
            folder.mkdir()
            for stage in ("train", "replay", "metrics"):
                jobs[(stage, task, variant)] = folder / f"{stage}.json"
                jobs[(stage, task, variant)].write_text(rc.to_json(getattr(rc, f"{stage}_job")(cfg, task, variant, 0)))
            for kind, name in (("model", "m.pt"), ("loss", "loss.nc"), ("replay", "replay.nc"), ("metrics", "metrics.nc")):
                files[(kind, task, variant)] = folder / name
            for stage, inputs, outputs in STAGES:
                args = [f"@{jobs[(stage, task, variant)]}"]
                for flag, key in (*inputs, *outputs):
                    args += [flag, files[key(task, variant)]]
                proc = cli(stage, "--job", *args)
                assert proc.returncode == 0, proc.stderr
    return tmp, files, jobs


# (stage, [(flag, which file: (task, variant) -> key of files)] of its inputs, the same of its outputs)
STAGES = [
    ("train", [("--train-paths", lambda t, v: ("paths", t, "train0"))],
     [("--out-model", lambda t, v: ("model", t, v)), ("--out-loss", lambda t, v: ("loss", t, v))]),
    ("replay", [("--model", lambda t, v: ("model", t, v)), ("--test-paths", lambda t, v: ("paths", t, "test"))],
     [("--out", lambda t, v: ("replay", t, v))]),
    ("metrics", [("--replay", lambda t, v: ("replay", t, v)), ("--test-paths", lambda t, v: ("paths", t, "test")),
                 ("--loss", lambda t, v: ("loss", t, v))], [("--out", lambda t, v: ("metrics", t, v))]),
]


def run_stage(world, stage, task, variant, swaps: dict, out_dir: Path):
    """Run ``stage`` of (task, variant) with its own inputs, except the flags in ``swaps`` (flag ->
    another path), writing to fresh outputs in ``out_dir``; returns (process, outputs)."""
    _, files, jobs = world
    _, inputs, outputs = next(s for s in STAGES if s[0] == stage)
    args, outs = [], []
    for flag, key in inputs:
        args += [flag, swaps.get(flag, files[key(task, variant)])]
    for flag, _ in outputs:
        outs.append(out_dir / f"{stage}{flag}.out")
        args += [flag, outs[-1]]
    return cli(stage, "--job", f"@{jobs[(stage, task, variant)]}", *args), outs


@pytest.mark.parametrize("stage, task, variant, flag, key, needles", [
    ("replay", "tmaze", "noleak", "--test-paths", ("paths", "headdirection", "test"),
     ["this is the test paths of headdirection (task kind headdirection); the job needs the test paths of tmaze"]),
    ("replay", "tmaze", "noleak", "--test-paths", ("replay", "tmaze", "noleak"),
     ["this is the replay of tmaze/noleak seed 0 (task kind tmaze); the job needs the test paths of tmaze"]),
    ("replay", "tmaze", "noleak", "--model", ("model", "headdirection", "noisy"),
     ["this is the model of headdirection/noisy seed 0", "the job needs the model of tmaze/noleak seed 0"]),
    ("replay", "tmaze", "noleak", "--model", ("model", "tmaze", "leak_adapt_mom"),
     ["this is the model of tmaze/leak_adapt_mom", "needs the model of tmaze/noleak"]),
    ("train", "tmaze", "noleak", "--train-paths", ("paths", "tmaze", "train1"),
     ["this is the train paths of tmaze seed 1", "the job needs the train paths of tmaze seed 0"]),
    ("train", "tmaze", "noleak", "--train-paths", ("paths", "tmaze", "test"),
     ["this is the test paths of tmaze", "the job needs the train paths of tmaze seed 0"]),
    ("metrics", "tmaze", "noleak", "--replay", ("replay", "tmaze", "leak_adapt_mom"),
     ["this is the replay of tmaze/leak_adapt_mom seed 0", "the job needs the replay of tmaze/noleak seed 0"]),
    ("metrics", "tmaze", "noleak", "--loss", ("loss", "headdirection", "noisy"),
     ["this is the loss curve of headdirection/noisy", "the job needs the loss curve of tmaze/noleak seed 0"]),
    ("metrics", "headdirection", "noisy", "--test-paths", ("metrics", "headdirection", "noisy"),
     ["this is the metrics of headdirection/noisy", "the job needs the test paths of headdirection"]),
])
def test_an_input_file_of_another_job_is_refused_naming_it(world, tmp_path, stage, task, variant, flag, key,
                                                          needles):
    path = world[1][key]
    proc, outs = run_stage(world, stage, task, variant, {flag: path}, tmp_path)
    assert_clean_failure(proc, str(path), *needles)
    assert not any(p.exists() for p in outs) and list(tmp_path.iterdir()) == []


def test_a_model_is_checked_against_the_jobs_cell_and_shapes(world, tmp_path):
    import torch

    _, files, jobs = world
    spec = json.loads(jobs[("replay", "tmaze", "noleak")].read_text())
    spec["model"]["cell"]["hidden"] = spec["cell"]["hidden"] = 32  # the job wants another network
    proc = cli("replay", "--job", json.dumps(spec), "--model", files[("model", "tmaze", "noleak")], "--test-paths",
               files[("paths", "tmaze", "test")], "--out", tmp_path / "r.nc")
    assert_clean_failure(proc, "m.pt: this is the model of tmaze/noleak seed 0",
                         "(cell.hidden: 16 in the file, 32 expected)")
    blob = torch.load(files[("model", "tmaze", "noleak")], weights_only=True)  # weights that lie about their job
    blob["state_dict"]["recurrent.weight"] = torch.zeros(8, 8)
    torch.save(blob, tmp_path / "odd.pt")
    proc = replay_in(world, tmp_path / "odd.pt", tmp_path / "r.nc")
    assert_clean_failure(proc, "odd.pt: weights recurrent.weight have shape (8, 8); the job's cell (rnn, hidden 16) "
                               "on task tmaze needs (16, 16)")
    assert not (tmp_path / "r.nc").exists()


def replay_in(world, model, out):
    _, files, jobs = world
    return cli("replay", "--job", f"@{jobs[('replay', 'tmaze', 'noleak')]}", "--model", model,
               "--test-paths", files[("paths", "tmaze", "test")], "--out", out)


def test_a_replay_too_short_for_the_metrics_is_refused(world, tmp_path):
    _, files, jobs = world
    spec = json.loads(jobs[("metrics", "tmaze", "noleak")].read_text())
    spec["settings"]["burn_in"] = 60
    proc = cli("metrics", "--job", json.dumps(spec), "--replay", files[("replay", "tmaze", "noleak")], "--test-paths",
               files[("paths", "tmaze", "test")], "--loss", files[("loss", "tmaze", "noleak")], "--out", tmp_path / "x.nc")
    assert_clean_failure(proc, "replay.nc: replay of 40 steps; metrics.burn_in 60 and metrics.speed_lag 5 need at least 62")
    spec["settings"].update(burn_in=5, speed_lag=13)
    proc = cli("metrics", "--job", json.dumps(spec), "--replay", files[("replay", "tmaze", "noleak")], "--test-paths",
               files[("paths", "tmaze", "test")], "--loss", files[("loss", "tmaze", "noleak")], "--out", tmp_path / "x.nc")
    assert_clean_failure(proc, "test.nc: paths of 12 steps; metrics.speed_lag 13 needs at least 13")
    assert list(tmp_path.iterdir()) == []


# --- OS errors: one line naming the path and the cause, before the work, nothing partial ----------


def test_an_unreadable_job_file_is_one_line(world, tmp_path):
    for spec, cause in ((tmp_path, "Is a directory"), (tmp_path / "none.json", "No such file")):
        proc = cli("replay", "--job", f"@{spec}", "--model", "m.pt", "--test-paths", "t.nc", "--out", tmp_path / "r.nc")
        assert_clean_failure(proc, f"--job @{spec}: cannot read {spec} ({cause}")
    assert not (tmp_path / "r.nc").exists()


def test_an_output_that_cannot_be_written_stops_the_stage_before_its_work(world, tmp_path, monkeypatch):
    import rnnreplay.replay

    monkeypatch.setattr(rnnreplay.replay, "replay", lambda *a, **k: pytest.fail("the replay ran"))
    model = world[1][("model", "tmaze", "noleak")]
    (tmp_path / "out.nc").mkdir()
    assert_clean_failure(replay_in(world, model, tmp_path / "out.nc"), f"{tmp_path / 'out.nc'}: the output path is a directory")
    (tmp_path / "file").write_text("")
    assert_clean_failure(replay_in(world, model, tmp_path / "file" / "r.nc"),
                         f"{tmp_path / 'file' / 'r.nc'}: cannot create its folder {tmp_path / 'file'} (")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    else:  # root ignores modes: a read-only file system then (/sys, in containers)
        locked = Path("/sys")
        if not _read_only(locked):
            pytest.skip("no folder that this root user cannot write")
    assert_clean_failure(replay_in(world, model, locked / "r.nc"),
                         f"{locked / 'r.nc'}: cannot write to its folder {locked} (")


def _read_only(folder: Path) -> bool:
    try:
        fd, probe = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.unlink(probe)
    return False


def test_a_full_disk_leaves_nothing_partial(world, tmp_path, monkeypatch):
    import errno

    import torch
    import xarray as xr

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    _, files, jobs = world
    monkeypatch.setattr(torch, "save", full)  # training writes its loss curve, then fails on the model
    proc = cli("train", "--job", f"@{jobs[('train', 'tmaze', 'noleak')]}", "--train-paths", files[("paths", "tmaze", "train0")],
               "--out-model", tmp_path / "m.pt", "--out-loss", tmp_path / "loss.nc")
    assert_clean_failure(proc, f"{tmp_path / 'm.pt'}: cannot write it (No space left on device)")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    assert_clean_failure(replay_in(world, files[("model", "tmaze", "noleak")], tmp_path / "r.nc"),
                         f"{tmp_path / 'r.nc'}: cannot write it (No space left on device)")
    assert list(tmp_path.iterdir()) == []


# --- The fuzz test: random config mutations and random wrong-file pairings ------------------------


def _a_mapping_line(line: str) -> bool:
    try:
        return re.match(r"\s*[A-Za-z_][\w.]*:", line) is not None and isinstance(yaml.safe_load(line.strip()), dict)
    except yaml.YAMLError:  # a line inside a flow mapping that spans lines
        return False


@st.composite
def duplicated_lines(draw) -> tuple[str, str]:
    """The tiny config's text with one of its ``key:`` lines (and the block under it) written
    twice, and that key."""
    lines = (ROOT / "tests" / "configs" / "tiny.yaml").read_text().splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if _a_mapping_line(line)]
    i = draw(st.sampled_from(keyed))
    block = [lines[i]] + list(itertools.takewhile(
        lambda line: line.strip() and len(line) - len(line.lstrip()) > len(lines[i]) - len(lines[i].lstrip()),
        lines[i + 1:]))  # the key with its indented block, so that the YAML stays valid
    return "".join(lines[: i + len(block)] + block + lines[i + len(block):]), lines[i].split(":")[0].strip()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_bad_input_stops_with_one_line_naming_the_key_or_file(world, tmp_path_factory, data):
    """A random bad config (one mistake of any kind in BAD, or a repeated YAML key) through the
    checker the dry run calls, or a stage given random wrong input files through the CLI: exit 1, no
    traceback, a message naming the key or one of the wrong files, no output file."""
    tmp = tmp_path_factory.mktemp("fuzz")
    case = data.draw(st.sampled_from(["config", "yaml", "aliases", "files", "clash", "job"]))
    if case == "clash":
        return _fuzz_path_clash(world, tmp, data)
    if case == "job":
        return _fuzz_hand_written_job(world, tmp, data)
    if case in ("config", "yaml", "aliases"):
        if case == "config":
            _, cfg, key = data.draw(bad_configs())
            files = []
        else:
            text, key = data.draw(duplicated_lines() if case == "yaml" else alias_heavy_yaml())
            (tmp / "c.yaml").write_text(text)
            cfg, files = TINY, [tmp / "c.yaml"]
        with pytest.raises(SystemExit) as stop:
            rcv.exit_if_invalid(cfg, SCHEMA, files=files)
        message = str(stop.value.code)
        assert message.startswith("rnnreplay: invalid config") and key in message, (key, message)
        assert all(line.startswith("  - ") for line in message.splitlines()[1:]), message
        assert "Traceback" not in message
        return
    _, files, _ = world
    stage, inputs, _ = data.draw(st.sampled_from(STAGES))
    task = data.draw(st.sampled_from(sorted(WORLD_TASKS)))
    variant = data.draw(st.sampled_from(WORLD_TASKS[task]))
    strangers = [*files.values(), tmp / "absent.nc", world[0], ROOT / "README.md"]
    flags = data.draw(st.lists(st.sampled_from([flag for flag, _ in inputs]), min_size=1, unique=True))
    swaps = {flag: data.draw(st.sampled_from([p for p in strangers if p != files[key(task, variant)]]))
             for flag, key in inputs if flag in flags}
    proc, outs = run_stage(world, stage, task, variant, swaps, tmp)
    line = assert_clean_failure(proc)
    assert any(str(path) in line for path in swaps.values()), (swaps, line)
    assert not any(p.exists() for p in outs) and list(tmp.iterdir()) == []


@st.composite
def alias_heavy_yaml(draw) -> tuple[str, str]:
    """The tiny config's text with an extra key holding nested aliases, each level a list of
    ``width`` aliases of the level below, ``depth`` levels: beyond 200,000 values once expanded."""
    width, depth = draw(st.integers(4, 12)), draw(st.integers(6, 12))
    while width ** depth <= 200_000:
        depth += 1
    lines = ["lol:", f"  a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth)]
    text = (ROOT / "tests" / "configs" / "tiny.yaml").read_text()
    return text.replace("seeds: [0, 1]\n", "seeds: [0, 1]\n" + "\n".join(lines) + "\n"), "expands to more than"


def _fuzz_path_clash(world, tmp, data):
    """A stage whose random output is one of its inputs or another of its outputs: one line naming
    both flags, and the input untouched."""
    _, files, _ = world
    stage, inputs, outputs = data.draw(st.sampled_from(STAGES))
    task = data.draw(st.sampled_from(sorted(WORLD_TASKS)))
    variant = data.draw(st.sampled_from(WORLD_TASKS[task]))
    out_flag = data.draw(st.sampled_from([flag for flag, _ in outputs]))
    choices = [("input", flag, files[key(task, variant)]) for flag, key in inputs]
    choices += [("output", flag, tmp / "same.out") for flag, _ in outputs if flag != out_flag]
    role, other_flag, path = data.draw(st.sampled_from(choices))
    before = path.read_bytes() if path.exists() else None
    _, inputs_, outputs_ = next(s for s in STAGES if s[0] == stage)
    args = []
    for flag, key in inputs_:
        args += [flag, files[key(task, variant)]]
    for flag, _ in outputs_:
        args += [flag, path if flag in (out_flag, other_flag) else tmp / f"{flag}.out"]
    proc = cli(stage, "--job", f"@{world[2][(stage, task, variant)]}", *args)
    line = assert_clean_failure(proc, str(path))
    assert "the same file as" in line and other_flag in line, line
    assert (path.read_bytes() if path.exists() else None) == before


JOB_MISTAKES = [  # (where in a replay job, a bad value, a text the message must hold)
    (("cell", "sigma"), float("nan"), "cell.sigma"), (("cell", "leak"), float("inf"), "leak"),
    (("cell", "hidden"), 0, "hidden"), (("cell", "friction"), 1.5, "friction"),
    (("settings", "steps"), 10**12, "replay.steps"), (("settings", "trajectories"), 0, "settings.trajectories"),
    (("settings", "noise_multiplier"), -1.0, "settings.noise_multiplier"),
    (("model", "settings", "lr_warmup"), 10**6, "model.settings.lr_warmup"),
    (("model", "settings", "lr"), 0.0, "model.settings.lr"), (("cell", "tau"), 1.0, "unknown field 'tau'"),
    (("settings", "epochs"), 3, "unknown field 'epochs'"), (("model", "task", "kind"), "maze", "model.task.kind"),
]


def _fuzz_hand_written_job(world, tmp, data):
    """A replay job written by hand with one random mistake (NaN, out of range, an unknown field,
    a size beyond any memory): one line naming its field, nothing written."""
    _, files, jobs = world
    where, value, needle = data.draw(st.sampled_from(JOB_MISTAKES))
    spec = json.loads(jobs[("replay", "tmaze", "noleak")].read_text())
    node = spec
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    proc = cli("replay", "--job", json.dumps(spec), "--model", files[("model", "tmaze", "noleak")],
               "--test-paths", files[("paths", "tmaze", "test")], "--out", tmp / "r.nc")
    assert_clean_failure(proc, needle)
    assert list(tmp.iterdir()) == []

# Two commands a user needs: `make reproduce` and `make test` (each sets up .venv first).
VENV ?= .venv
CORES ?= 2
# CPU build by default (small, fast); GPU users: `make install TORCH="torch==<version>"` or
# install torch into .venv yourself first; an installed torch >= 2.2 is kept.
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install reproduce quick robustness test test-cluster dry-run lint report bench bench-gpu clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev,slurm]"
	touch $@

# Starts or resumes a run: after a kill (even kill -9) the same command goes on where it stopped
# (rnnreplay.launch: a stale lock is removed when no run of this folder is active, then
# snakemake --rerun-incomplete). ARGS: more Snakemake arguments, e.g. ARGS="--config 'only_tasks=[tmaze]'".
ARGS ?=
reproduce: install
	$(PY) -m rnnreplay.launch --cores $(CORES) $(ARGS)

# The quick experiment (workflow/configs/quick.yaml: every stage on tiny networks, minutes).
quick: install
	$(PY) -m rnnreplay.launch --cores $(CORES) --configfile workflow/configs/quick.yaml $(ARGS)

# The robustness map (workflow/configs/robustness.yaml: the maze claims under 16 universes, each an
# override of config.yaml; hours on 2 cores). Results under results/robustness/; see docs/robustness.md.
robustness: install
	$(PY) -m rnnreplay.launch --cores $(CORES) --configfile workflow/configs/robustness.yaml $(ARGS)

test: install
	$(PY) -m pytest

# A real single-node SLURM on localhost (root, Debian: installs packages, starts daemons, stops them).
test-cluster: install
	RNNREPLAY_CLUSTER_TEST=1 $(PY) -m pytest -v -s tests/test_cluster.py

dry-run: install
	$(PY) -m rnnreplay.launch -n --cores $(CORES) $(ARGS)

lint: install
	snakemake --lint
	snakefmt --check Snakefile workflow/rules

report: install
	snakemake --report results/report.html

# Performance benchmarks (not part of `make test`): tables and CSV/JSON under results/benchmarks/perf/.
# BENCH_ARGS: e.g. "--threads 2 --repeats 5" or "--quick".
BENCH_ARGS ?=
bench: install
	$(PY) tests/benchmarks/run_all.py $(BENCH_ARGS)

# Training on one GPU (under 5 minutes; exits 0 with one line where there is none): tables and JSON
# under results/benchmarks/gpu/. BENCH_GPU_ARGS: e.g. "--sections kr24 process" or "--limits kr24=200".
BENCH_GPU_ARGS ?=
bench-gpu: install
	$(PY) tests/benchmarks/bench_gpu.py --out results/benchmarks/gpu $(BENCH_GPU_ARGS)

clean:
	rm -rf results/data results/models results/replay results/metrics results/tables results/figures \
	       results/logs results/benchmarks results/checkpoints

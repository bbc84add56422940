#!/usr/bin/env bash
# Build .devkit/site.tar.xz: the packages of tests/benchmarks/device_kit.txt as CPython 3.12
# manylinux wheels installed into one folder (stripped; PuLP's solver binaries dropped), ~12 MB
# packed, to carry to a lent GPU machine and put on PYTHONPATH there:
#   mkdir -p /tmp/kit && tar xJf .devkit/site.tar.xz -C /tmp/kit && export PYTHONPATH=/tmp/kit/site:$PWD/src
# Rules call `python`: make it a wrapper script (not a symlink: a venv's python found through a
# symlink elsewhere loses its site-packages), e.g.
#   printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" > /tmp/bin/python; chmod +x /tmp/bin/python
# Stop a timed part with `timeout -s KILL` (on SIGTERM Snakemake waits for its running jobs).
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=.devkit; rm -rf "$kit/wheels" "$kit/site"; mkdir -p "$kit/wheels"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    --platform any -d "$kit/wheels" -r tests/benchmarks/device_kit.txt
python3 -m pip install --quiet --no-deps --ignore-requires-python --target "$kit/site" "$kit"/wheels/*.whl \
    --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64
rm -rf "$kit/site/pulp/solverdir" "$kit/site/bin"
find "$kit/site" -name __pycache__ -prune -exec rm -rf {} +
find "$kit/site" -name "*.so*" -type f -exec strip --strip-unneeded {} + 2>/dev/null || true
cp tests/benchmarks/device_kit_check.py "$kit/check.py"
tar cJf "$kit/site.tar.xz" -C "$kit" site
du -sh "$kit/site" "$kit/site.tar.xz"

#!/usr/bin/env bash
# The GPU check of issue 24, in one run on a machine with a CUDA GPU; at most 8 minutes (about 5 expected).
# Everything goes to "$OUT": gpu_check.log (each part's command, exit status and seconds), one
# <part>.log per part, and bench_gpu/ (bench_gpu.py's tables: gpu_summary.md, .json, one JSON
# per section). Each part runs under a hard `timeout`; a failing or stopped part never stops the
# others, and the script exits 0 once every part has had its turn.
#   OUT=/path/to/folder bash tests/benchmarks/gpu_check.sh       (PYTHON=python3 by default)
set -u
OUT="${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
cd "$(dirname "$0")/../.." || exit 0
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python3}"
LOG="$OUT/gpu_check.log"

part() {  # part NAME SECONDS COMMAND...: run COMMAND with a hard limit, output to $OUT/NAME.log
    local name=$1 limit=$2 start rc cmd
    shift 2
    cmd="$*"
    echo "== $name (limit ${limit} s): ${cmd:0:150}" | tee -a "$LOG"
    start=$(date +%s)
    timeout -k 10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    echo "   $name: exit $rc$([ $rc -eq 124 ] && echo ' (timed out)'), $(($(date +%s) - start)) s" | tee -a "$LOG"
    tail -n 3 "$OUT/$name.log" | sed 's/^/   | /' | tee -a "$LOG"
}

echo "gpu_check.sh at $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $(hostname), $(date -u)" | tee "$LOG"
part machine 20 bash -c "nvidia-smi; $PY - <<'PY'
import importlib, sys
import torch
print(sys.version)
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())
if torch.cuda.is_available():
    print(torch.cuda.get_device_name(0), torch.cuda.get_device_properties(0).total_memory / 2**30, 'GiB')
for name in ('numpy', 'scipy', 'xarray', 'netCDF4', 'cftime', 'pandas', 'yaml', 'jsonschema', 'tqdm', 'ot',
             'statsmodels', 'pytest', 'snakemake'):
    try:
        module = importlib.import_module(name)
        print('ok     ', name, getattr(module, '__version__', ''))
    except Exception as exc:
        print('MISSING', name, type(exc).__name__, exc)
PY"
# CUDA against CPU (tolerances in tests/benchmarks/cuda_agreement.py) and the torch batches' tests
part agreement 90 "$PY" -m pytest -q -p no:cacheprovider tests/test_cuda_agreement.py tests/test_torch_batches.py tests/test_cell_graphs.py
# The benchmark: six sections with their own limits (15 + 40 + 40 + 95 + 45 + 85 s) and the projections
part bench_gpu 345 "$PY" tests/benchmarks/bench_gpu.py --out "$OUT/bench_gpu"
echo "done $(date -u)" | tee -a "$LOG"
exit 0

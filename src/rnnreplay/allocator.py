"""Keep freed memory in the process for reuse (glibc only).

Training and replay allocate the same few large buffers over and over ((T, B, N) hidden states,
pre-activations, gradients, noise chunks: 41 MB each at KR24's training shapes). glibc serves
blocks above its mmap threshold (at most 32 MB by default) with fresh ``mmap`` pages and returns
them on ``free``, so every step pays a page fault and a zero fill for each 4 KB of each buffer:
18% of a KR24-shape training step (0.96 -> 0.78 s, tests/benchmarks/bench_train.py). Raising the
mmap and trim thresholds keeps freed blocks in the heap, where the next step reuses them. Results
are unchanged (only where memory comes from changes); peak RSS grows by what the heap retains,
which the trim threshold caps at :data:`KEPT_MB` (with glibc's default of 2 GB there, an
ensemble of five 128-unit networks on 150-step paths kept up to 2.4 GB of freed memory).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
KEPT_MB = 512  # at most this much freed memory stays in the heap (what a job's memory request adds)


def keep_freed_memory(mmap_threshold: int = 1 << 30, trim_threshold: int = KEPT_MB << 20) -> bool:
    """Ask glibc's malloc to serve blocks below ``mmap_threshold`` bytes from the heap and to keep
    up to ``trim_threshold`` bytes of freed heap. Returns True when applied, False where malloc is
    not glibc's (macOS, musl): there it does nothing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))

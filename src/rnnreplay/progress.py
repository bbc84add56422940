"""Progress of a long loop: a tqdm bar on a terminal, plain lines in a log file otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator

from tqdm.auto import tqdm


def steps(n: int, desc: str, log: Callable[[str], None] | None = None, lines: int = 10) -> Iterator[int]:
    """Yield 0..n-1. With stderr on a terminal, draw a tqdm bar; else, when ``log`` is given, call
    it with about ``lines`` plain lines ``desc: step k/n (t s)`` spread over the loop (Snakemake
    rule logs are files, where a bar would be unreadable)."""
    if sys.stderr.isatty():
        yield from tqdm(range(n), desc=desc, leave=False)
        return
    every = max(1, -(-n // max(1, lines)))  # ceil(n / lines)
    start = time.perf_counter()
    for i in range(n):
        yield i
        if log is not None and ((i + 1) % every == 0 or i + 1 == n):
            log(f"{desc}: step {i + 1}/{n} ({time.perf_counter() - start:.1f} s)")

"""glibc's malloc keeps freed large blocks for reuse in train/replay jobs (rnnreplay.allocator)."""

import subprocess
import sys

import pytest

from rnnreplay.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_applies_on_linux():
    # in a child process: the setting is process-wide and should not leak into other tests
    code = ("from rnnreplay.allocator import keep_freed_memory; import torch\n"
            "assert keep_freed_memory()\n"
            "a = torch.ones(20_000_000); del a; b = torch.empty(20_000_000); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_keep_freed_memory_is_harmless_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_freed_memory() is False

"""A CPU supernet backend keeps freed activations in the C heap: a batch's tensors reuse the pages
of the last batch's instead of faulting them in again, zero-filled, every time (glibc only)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

# Six 4 MB tensors freed together, five times over: with glibc's default thresholds the freed
# top of the heap usually goes back to the kernel each time (whether it does depends on where
# small blocks happen to lie), and the next round faults its 6 x 1,024 pages in again.
SCRIPT = """
import resource, torch
from nas_gym.supernets.backend import SupernetBackend

def faults():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        batch = [torch.ones(1 << 20) for _ in range(6)]
        del batch
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

SupernetBackend(space="nb201", dataset="digits", size="tiny", device="cpu", epochs=0, n_val=50, progress=False)
faults()
print(faults())
"""


def _glibc() -> bool:
    return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not _glibc(), reason="the heap setting is glibc's (elsewhere nothing changes)")
def test_a_cpu_backend_keeps_freed_activations_for_reuse():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # glibc's defaults
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) < 1_000  # without the setting: ~30,000 (5 x 6 x 1,024 pages)


def test_the_setting_holds_on_glibc_and_is_a_no_op_elsewhere():
    from nas_gym.supernets.heap import keep_freed_memory

    assert keep_freed_memory() is _glibc()

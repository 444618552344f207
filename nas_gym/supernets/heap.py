"""The C heap of a process that runs supernets on the CPU: freed activations stay in it for reuse.

A frozen query allocates and frees activations of a few MB per op (an evaluation batch of 200
MNIST images at 4 channels is 2.5 MB per tensor). glibc gives the free top of its heap back to
the kernel once it exceeds twice the largest block recently freed, so each batch faults its
activations' pages in again, zero-filled by the kernel: 14,000-23,000 page faults per ``tiny``
query and 11-15% of its CPU time (one thread). Keeping freed blocks of up to 32 MB in the heap
(not in their own mappings) and up to :data:`KEEP_BYTES` of free heap removes them; no number
changes. A process keeps at most its peak of freed memory, which it needs again at its next
query. Elsewhere than glibc (macOS, Windows, musl) nothing is changed.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 32 << 20  # blocks this large or larger get their own mapping (glibc's largest allowed value)
KEEP_BYTES = 256 << 20  # free memory at the top of the heap kept, not given back
_kept = False


def keep_freed_memory() -> bool:
    """Tell glibc's ``malloc`` to keep freed blocks for reuse (once per process; forked children
    inherit it); whether the setting holds here."""
    global _kept
    if _kept:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
        if not hasattr(libc, "gnu_get_libc_version"):
            return False  # not glibc: its mallopt means something else or nothing
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _kept = bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
    return _kept


__all__ = ["KEEP_BYTES", "MMAP_BYTES", "keep_freed_memory"]

"""Torch in forked processes: children of a process that has used torch run it on one thread.

Torch's CPU kernels run on an OpenMP thread pool, and that pool does not survive ``fork``: a
forked child whose first parallel region asks for more than one thread waits forever for
threads that exist only in the parent. Gymnasium's async vector env forks on Linux right after
building one env in the parent (a supernet env pretrains or queries there), so without this
its workers hang in their first convolution, silently. With one thread a child never enters a
parallel region, and one thread per worker is what parallel workers on a shared CPU want anyway.
"""

from __future__ import annotations

import os

_registered = False


def one_thread_after_fork() -> None:
    """Make every process forked from this one from now on set ``torch.set_num_threads(1)``
    before it runs anything (registered once per process; a no-op where ``fork`` does not exist)."""
    global _registered
    if _registered or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(after_in_child=_one_thread)
    _registered = True


def _one_thread() -> None:
    import torch  # imported by the parent before it registered this, so no import work in the child

    torch.set_num_threads(1)

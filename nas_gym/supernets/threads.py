"""The torch thread policy: supernet work runs on one CPU thread unless told otherwise.

The supernets' convolutions have 4-64 channels; splitting them over threads buys little even on
an idle machine, and on a shared one threads wait for each other: one pretraining epoch took
about ten times the CPU time on two threads as on one (``scripts/bench_supernet.py --what
threads`` measures it). Parallel worker processes, one thread each, use the cores instead.

``threads=`` (the backend's and the env's keyword, the CLI's ``--threads``) wins, then the
environment variable ``NAS_GYM_THREADS``, then 1. The backend applies it around its own work
(pretraining, queries, evaluation) and puts the caller's setting back afterwards. A process
forked from one that used torch stays on one thread whatever it asks for: its OpenMP pool did
not survive the fork, and a second thread would wait forever (see :mod:`.forking`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
THREADS_ENV = "NAS_GYM_THREADS"
DEFAULT_THREADS = 1
_forked = False  # this process was forked (after this module was imported)


def _mark_forked() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked)


def resolve_threads(threads: int | str | None = None) -> int:
    """``threads`` if given, else ``$NAS_GYM_THREADS``, else :data:`DEFAULT_THREADS`; a positive int."""
    where = "threads"
    if threads is None:
        threads, where = os.environ.get(THREADS_ENV) or DEFAULT_THREADS, f"${THREADS_ENV}"
    try:
        n = int(threads)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or str(threads).strip() != str(n):
        raise ValueError(f"{where}={threads!r}: want a positive number of torch CPU threads, e.g. 1 (the default) or 2")
    return n


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: leave as is), then restore the setting.

    Setting the count costs well under a microsecond, so wrapping every query is free.
    """
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1 if _forked else int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def on_own_threads(method: F) -> F:
    """Method decorator: run the method on ``self.threads`` torch threads."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with torch_threads(self.threads):
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


__all__ = ["DEFAULT_THREADS", "THREADS_ENV", "on_own_threads", "resolve_threads", "torch_threads"]

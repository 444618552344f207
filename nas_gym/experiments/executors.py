"""Where a grid's runs execute: worker processes on this machine, or Ray tasks.

Both take the runs still to do and call ``finished(status, note)`` as each one ends; the caller
(:func:`~.runner.run_grid`) owns the progress bar and the results files' folder.

Worker processes (``executor="process"``) are forked where that is safe and spawned otherwise
(:func:`worker_start_method`), and handed one run at a time (:class:`RunQueue`). They never
outlive the grid's process: on Linux each asks the kernel for SIGTERM when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and a watcher thread checks the parent where that is not
available, so a main process killed by SIGTERM or SIGKILL (a supervisor, a batch scheduler,
``kill <pid>``) leaves no worker behind. A worker that dies itself (the system's
out-of-memory killer sends SIGKILL) stops the grid with :class:`WorkerDied`, naming the runs
it may have held; every finished run keeps its file, and running the grid again resumes.

Ray (``executor="ray"``) runs each run as a task on a local Ray started for the grid, or on a
running cluster given by ``address``; a task returns its payload and this process writes the
results file, so the cluster needs nas_gym and its benchmarks installed but no shared file
system.

Ctrl-C (SIGINT) stops a grid at once: workers ignore SIGINT, so only the main process handles
it; it cancels the queued runs, terminates the running ones (their files are never half
written) and raises :class:`GridInterrupted`. A second Ctrl-C during that clean-up is ignored,
so it cannot leave workers and the main process waiting on each other.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import RunSpec

Job = tuple["RunSpec", Path]
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_S = 1.0


class GridInterrupted(KeyboardInterrupt):
    """A grid stopped by Ctrl-C; ``finished`` of its ``total`` runs have their results files."""

    def __init__(self, finished: int, total: int) -> None:
        super().__init__(f"interrupted: {finished} of {total} runs finished")
        self.finished, self.total = finished, total


class WorkerDied(RuntimeError):
    """A worker process died during a grid: killed by the system, most often for memory. The
    message names the runs it may have held and says that a re-run resumes."""


def worker_start_method() -> str:
    """``fork`` on Linux while this process has not imported torch, else ``spawn``.

    Forked workers inherit the imported modules and the loaded tables: for grids of cheap
    searches, a spawned worker's imports (numpy, gymnasium, scipy, optuna, the tables: seconds of
    CPU each) cost more than the runs it takes over. Torch's thread pools and CUDA are not safe
    across a fork, so once torch is loaded (an RL agent was made here) workers are spawned.
    """
    return "fork" if sys.platform == "linux" and "torch" not in sys.modules else "spawn"


def init_worker(parent: int) -> None:
    """Worker initializer: Ctrl-C is the main process's to handle; the worker ends with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not _death_signal(signal.SIGTERM):
        threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request above: nobody will send it
        os.kill(os.getpid(), signal.SIGTERM)


def _death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies; whether it agreed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Where the kernel cannot signal a parent's death: notice it (an orphan's parent changes)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)


def interrupt_once(signum: int, frame: Any) -> None:
    """SIGINT handler: KeyboardInterrupt, unless one is being handled already.

    A second Ctrl-C that arrives while the first one's clean-up runs (in its ``except`` and
    ``finally`` blocks) is then ignored instead of breaking that clean-up with a traceback.
    """
    if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
        raise KeyboardInterrupt


@contextmanager
def sigint_handler(handler: Any) -> Iterator[None]:
    """Run the block with ``handler`` for SIGINT (only the main thread may set one; elsewhere as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class RunQueue:
    """The runs still to start, seed by seed; within a seed the agent whose runs took longest so far first.

    Runs of one agent take about as long as each other, and agents differ by orders of magnitude
    (a random search in milliseconds, Bayesian optimisation in seconds). Starting each seed's
    slowest runs first leaves the quick ones for the end of the grid, so no worker idles there
    while another finishes a slow run. An agent that has not finished a run yet counts as slowest.
    """

    def __init__(self, todo: list[Job]) -> None:
        self._seeds: dict[int, list[Job]] = {}  # in the order of todo (seed-major)
        for job in todo:
            self._seeds.setdefault(job[0].seed, []).append(job)
        self._left = len(todo)
        self._seconds: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return self._left

    def record(self, agent: str, seconds: float) -> None:
        """A run of ``agent`` took ``seconds``."""
        self._seconds.setdefault(agent, []).append(seconds)

    def pop(self) -> Job:
        seed, jobs = next(iter(self._seeds.items()))
        job = jobs.pop(max(range(len(jobs)), key=lambda k: (self._mean(jobs[k][0].agent), -k)))
        if not jobs:
            del self._seeds[seed]
        self._left -= 1
        return job

    def _mean(self, agent: str) -> float:
        seconds = self._seconds.get(agent)
        return sum(seconds) / len(seconds) if seconds else math.inf


def execute_parallel(
    todo: list[Job],
    workers: int,
    run: Callable[[RunSpec, Path], tuple[str, float, str]],
    finished: Callable[[str, str], None],
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """``run(spec, path)`` for each job of ``todo`` in ``workers`` processes (it writes the file
    and returns the run's status, seconds and a note on it for ``finished(status, note)``); on
    SIGINT stop them all and raise KeyboardInterrupt.

    Runs are handed out one at a time (one waits queued beyond the running ones, so a worker
    never waits for its next run) in the order of :class:`RunQueue`, which learns how long each
    agent's runs take. ``meanwhile`` starts in a thread once the workers exist: a fork while a
    thread imports modules could copy a held import lock into a worker. SIGINT only sets a flag
    that the loop polls: a KeyboardInterrupt raised at an arbitrary point of the executor's
    locking can leave its threads waiting on each other.
    """
    stop = threading.Event()
    queue = RunQueue(todo)
    n_workers = min(workers, len(todo))
    pool = ProcessPoolExecutor(
        max_workers=n_workers,
        mp_context=get_context(worker_start_method()),
        initializer=init_worker,
        initargs=(os.getpid(),),
    )
    processes: dict[int, Any] = {}  # every worker started, kept to tell how one died
    helper: threading.Thread | None = None
    with sigint_handler(lambda signum, frame: stop.set()):
        try:
            running: dict[Any, RunSpec] = {}
            while (queue or running) and not stop.is_set():
                while queue and len(running) <= n_workers:
                    spec, path = queue.pop()
                    running[pool.submit(run, spec, path)] = spec
                    processes.update(getattr(pool, "_processes", None) or {})
                if meanwhile is not None and helper is None:  # the first submit started every worker
                    helper = threading.Thread(target=meanwhile, daemon=True)
                    helper.start()
                done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        status, seconds, note = fut.result()
                    except BrokenProcessPool:
                        raise WorkerDied(_death_note(processes.values(), list(running.values()))) from None
                    queue.record(running.pop(fut).agent, seconds)
                    finished(status, note)
        except BaseException:
            _stop(pool)
            raise
        if stop.is_set():
            _stop(pool)
            raise KeyboardInterrupt
    pool.shutdown()
    if helper is not None:
        helper.join()


def _death_note(processes: Any, running: list[RunSpec]) -> str:
    """Which worker died and how, and the runs it may have held."""
    processes = list(processes)
    for p in processes:  # the pool may not have reaped them yet: an unreaped one has no exit code
        p.join(timeout=5)
    codes = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
    # the pool terminates the other workers once one died: the odd one out is the first to go
    first = next((c for c in codes if c != -signal.SIGTERM), codes[0] if codes else None)
    if first is not None and first < 0:
        name = signal.Signals(-first).name if -first in signal.valid_signals() else str(-first)
        oom = " (what the system's out-of-memory killer sends)" if -first == signal.SIGKILL else ""
        how = f"was killed by {name}{oom}"
    else:
        how = f"exited abruptly (exit code {first})"
    runs = ", ".join(f"{s.agent} seed {s.seed}" for s in running) or "none"
    return f"a worker process {how} while these runs were in progress: {runs}"


def execute_ray(
    todo: list[Job],
    address: str | None,
    run: Callable[[RunSpec], dict[str, Any]],
    write: Callable[[Path, dict[str, Any]], tuple[str, float, str]],
    finished: Callable[[str, str], None],
) -> None:
    """``run(spec)`` for each job of ``todo`` as a Ray task (``run`` must be importable by name);
    ``write(path, payload)`` here as the tasks finish (it returns what :func:`execute_parallel`'s
    ``run`` returns).

    SIGINT sets a flag that the loop polls (see :func:`execute_parallel`); then the tasks still
    running are cancelled and KeyboardInterrupt is raised.
    """
    try:
        import ray
    except ImportError:
        raise ValueError("executor='ray' needs Ray: pip install 'nas-gym[ray]'") from None
    if not ray.is_initialized():
        # A local Ray when no address is given; the grid's output goes to its own results files.
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    task = ray.remote(num_cpus=1, max_retries=0)(run)
    stop = threading.Event()
    with sigint_handler(lambda signum, frame: stop.set()):
        refs = {task.remote(spec): path for spec, path in todo}
        pending = list(refs)
        try:
            while pending and not stop.is_set():
                ready, pending = ray.wait(pending, num_returns=1, timeout=0.2)
                for ref in ready:
                    status, _, note = write(refs[ref], ray.get(ref))
                    finished(status, note)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
        if stop.is_set():
            raise KeyboardInterrupt


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued runs and terminate the running ones (finished runs have their files)."""
    # The executor has no public way to stop running work before Python 3.14.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(timeout=10)

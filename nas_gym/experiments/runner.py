"""The agents x seeds grid: one search per (agent, seed), in parallel processes, resumable.

Each run makes its own env with ``gym.make`` (in a worker process when ``workers > 1``),
searches, scores the result (:mod:`.evaluation`) and writes one results file (:mod:`.results`).
A run depends only on its spec, and runs single-threaded wherever it is, so a grid gives the
same numbers with any number of workers. A run that raises records its error; the others go on.

``executor="ray"`` runs each run as a Ray task instead (``pip install nas-gym[ray]``): on a
local Ray started for the grid, or on a running cluster given by ``address``. A task returns
its payload and the main process writes the results file, so the cluster's machines need
nas_gym and its benchmarks installed but no shared file system; files, resume and summary are
those of the local executor.

Ctrl-C (SIGINT) stops a grid at once: workers ignore SIGINT, so only the main process handles
it; it cancels the queued runs, terminates the running ones (their files are never half
written) and raises :class:`GridInterrupted`; every run that finished keeps its file, and
running the grid again resumes. A second Ctrl-C during that clean-up is ignored, so it cannot
leave workers and the main process waiting on each other.
"""

from __future__ import annotations

import math
import re
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import gymnasium as gym

from ..agents import Budget, agent_names, make
from ..agents.base import check_family
from ..agents.kwargs import check_agent_kwargs
from ..envs.checks import whole_number
from .evaluation import optimum_class, score
from .results import read_run, run_path, write_atomic
from .summary import summarise

FAMILY = re.compile(r"-(Seq|Cont|Edit)-")
EXECUTORS = ("process", "ray")


class GridInterrupted(KeyboardInterrupt):
    """A grid stopped by Ctrl-C; ``finished`` of its ``total`` runs have their results files."""

    def __init__(self, finished: int, total: int) -> None:
        super().__init__(f"interrupted: {finished} of {total} runs finished")
        self.finished, self.total = finished, total


@dataclass(frozen=True)
class RunSpec:
    """What determines one run (and is stored with it, to tell stale results apart)."""

    env_id: str
    agent: str
    seed: int
    budget: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agent_kwargs: dict[str, Any] = field(default_factory=dict)


def full_env_id(env_id: str) -> str:
    """``nas_gym:NasGym/...`` from ``NB201-Cont-v0`` or ``NasGym/NB201-Cont-v0``: importable anywhere."""
    name = env_id.split(":", 1)[1] if ":" in env_id else env_id
    if "/" not in name:
        name = f"NasGym/{name}"
    return f"nas_gym:{name}"


def budget_text(budget: Budget) -> str:
    """The budget as ``Budget.parse`` reads it back (``500``, ``36000s``, ``50ep``, joined by ``+``)."""
    parts = ([str(budget.queries)] if budget.queries is not None else []) + (
        [f"{budget.seconds:g}s"] if budget.seconds is not None else []
    ) + ([f"{budget.epochs:g}ep"] if budget.epochs is not None else [])
    return "+".join(parts)


def parse_budget(text: str) -> Budget:
    """Inverse of :func:`budget_text`."""
    parts = [Budget.parse(p) for p in str(text).split("+")]
    return Budget(
        queries=next((p.queries for p in parts if p.queries is not None), None),
        seconds=next((p.seconds for p in parts if p.seconds is not None), None),
        epochs=next((p.epochs for p in parts if p.epochs is not None), None),
    )


def make_env(spec: RunSpec, agent: Any) -> gym.Env:
    """The env of ``spec``; the same benchmark's env of the agent's first family if it cannot drive it.

    A Cont env's episode is one search, so unless ``budget`` is among the env kwargs it is set
    to the query budget: the search then runs as one episode.
    """
    env_id = full_env_id(spec.env_id)
    family = _family(env_id)
    if family not in agent.families and FAMILY.search(env_id):
        env_id = FAMILY.sub(f"-{agent.families[0]}-", env_id, count=1)
        family = agent.families[0]
    kwargs = dict(spec.env_kwargs)
    budget = parse_budget(spec.budget)
    if family == "Cont" and "budget" not in kwargs and budget.queries is not None:
        kwargs["budget"] = budget.queries
    env = gym.make(env_id, **kwargs)
    check_family(agent, env)
    return env


def _family(env_id: str) -> str:
    """The family (Seq, Cont, Edit) of a registered env id; ValueError for an unknown id."""
    name = env_id.split(":", 1)[1]
    if name not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("NasGym/"))
        raise ValueError(f"unknown env {name!r}; registered: {known}")
    entry = str(gym.registry[name].entry_point)
    return entry.rsplit(":", 1)[-1].rsplit(".", 1)[-1].removesuffix("Env")


@contextmanager
def single_threaded(torch_too: bool) -> Iterator[None]:
    """One BLAS (and torch) thread for the block: parallel runs then share cores fairly, and a
    run computes the same floats whether it runs alone or beside others."""
    from threadpoolctl import threadpool_limits

    torch = None
    if torch_too or "torch" in sys.modules:
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(old)


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Run one search and score it; the payload of its results file (errors included)."""
    payload: dict[str, Any] = {"spec": asdict(spec), "status": "ok"}
    start = time.perf_counter()
    try:
        agent = make(spec.agent, **spec.agent_kwargs)
        with single_threaded(torch_too=spec.agent.startswith("sb3:")):
            env = make_env(spec, agent)
            try:
                result = agent.search(env, parse_budget(spec.budget), spec.seed)
            finally:
                env.close()
        payload["env"] = env.spec.id if env.spec is not None else spec.env_id
        payload["log"] = {"arch_index": result.arch_index.tolist(), "val": result.val.tolist(),
                          "cost_s": result.cost_s.tolist()}
        payload["result"] = score(result, env.unwrapped.backend)
    except Exception as e:  # a failing run is recorded and the grid goes on
        payload.update(status="error", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    payload["wall_s"] = time.perf_counter() - start
    return payload


def _run_and_write(spec: RunSpec, path: Path) -> tuple[str, float]:
    """Run ``spec``, write its file at ``path``; its status and wall seconds."""
    payload = run_one(spec)
    write_atomic(path, payload)
    return payload["status"], payload["wall_s"]


def run_grid(
    env_id: str,
    agents: Iterable[str],
    seeds: int | Iterable[int],
    budget: Budget | int | str,
    out: str | Path,
    workers: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    agent_kwargs: dict[str, dict[str, Any]] | None = None,
    resume: bool = True,
    progress: bool = True,
    agent_env_kwargs: dict[str, dict[str, Any]] | None = None,
    executor: str = "process",
    address: str | None = None,
    summary: bool = False,
) -> list[Path]:
    """Run every agent with every seed on ``env_id``; the results files, in grid order.

    ``seeds`` is a count (seeds ``0..n-1``) or the seeds themselves; ``agent_kwargs`` maps an
    agent name to its constructor kwargs, ``agent_env_kwargs`` to env kwargs that add to (or
    override) ``env_kwargs`` for that agent's runs (``{"cadam": {"reward": "cadam"}}``). Every
    name, keyword and value is checked, and each agent and its env built once, before any run
    starts. With ``resume``, runs whose file holds a finished run of the same spec are skipped;
    a file from a different spec is an error (use another ``out``).

    ``executor``: ``process`` (``workers`` spawned processes, or this one) or ``ray`` (one Ray
    task per run, as many at once as the Ray cluster has CPUs; ``workers`` is not used);
    ``address``: a running Ray cluster's address (``ray`` only; without it a local Ray starts).
    ``summary``: then write the summary of these runs, plots included (:func:`~.summary.summarise`
    with ``paths``); with worker processes, this process loads the plotting libraries while they run.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {list(EXECUTORS)}")
    if address is not None and executor != "ray":
        raise ValueError(f"address {address!r} is for executor='ray', not {executor!r}")
    agents = list(agents)
    seed_list = check_grid(env_id, agents, seeds, out, workers, agent_kwargs, agent_env_kwargs)
    text = budget_text(Budget.parse(budget) if not isinstance(budget, str) else parse_budget(budget))
    specs = [
        RunSpec(env_id, a, s, text, {**(env_kwargs or {}), **(agent_env_kwargs or {}).get(a, {})},
                dict((agent_kwargs or {}).get(a, {})))
        for a in agents
        for s in seed_list
    ]
    for spec in {sp.agent: sp for sp in specs}.values():  # one per agent: a bad keyword fails here, not per run
        check_spec(spec)
    paths = [run_path(out, sp.agent, sp.seed) for sp in specs]
    todo = [(sp, p) for sp, p in zip(specs, paths) if not (resume and _finished(sp, p))]
    todo.sort(key=lambda job: seed_list.index(job[0].seed))  # seed-major: slow agents spread over the run
    meanwhile = _load_plotting if summary else None
    _execute(todo, workers, progress, done=len(specs) - len(todo), executor=executor, address=address, meanwhile=meanwhile)
    if summary:
        # the two plots side by side where the grid's own workers are forked (the helper thread has ended)
        summarise(out, paths=paths, fork=executor == "process" and workers > 1 and worker_start_method() == "fork")
    return paths


def _load_plotting() -> None:
    """Import what the summary's plots need (most of a second that would otherwise follow the grid)."""
    from .plots import load_matplotlib

    try:
        load_matplotlib()
    except Exception:  # the summary meets the same error and reports it
        pass


def check_grid(
    env_id: str,
    agents: list[str],
    seeds: int | Iterable[int],
    out: str | Path,
    workers: int,
    agent_kwargs: dict[str, dict[str, Any]] | None,
    agent_env_kwargs: dict[str, dict[str, Any]] | None,
) -> list[int]:
    """The grid's seeds; ValueError naming the first bad argument of :func:`run_grid`."""
    _family(full_env_id(env_id))
    if not agents:
        raise ValueError(f"no agents given; valid: {agent_names() + ['sb3:<ALGO>']}")
    unknown = [a for a in agents if a not in agent_names() and not a.startswith("sb3:")]
    if unknown:
        raise ValueError(f"unknown agents {unknown}; valid: {agent_names() + ['sb3:<ALGO>']}")
    twice = sorted({a for a in agents if agents.count(a) > 1})
    if twice:
        raise ValueError(f"agents {twice} are listed more than once in {agents}")
    for what, per_agent in (("agent kwargs", agent_kwargs), ("agent env kwargs", agent_env_kwargs)):
        stray = sorted(set(per_agent or {}) - set(agents))
        if stray:
            raise ValueError(f"{what} given for {stray}, which are not among the agents {agents}")
    if isinstance(seeds, bool) or not isinstance(seeds, int):
        seed_list = [whole_number("seed", s, minimum=0) for s in seeds]
    else:
        seed_list = list(range(whole_number("seeds", seeds, meaning="how many seeds, 0..seeds-1")))
    if not seed_list:
        raise ValueError("seeds must name at least one seed, got an empty list")
    whole_number("workers", workers, meaning="parallel processes")
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"out {str(out)!r} is a file, not a folder: give a folder for the results")
    return seed_list


def check_spec(spec: RunSpec) -> None:
    """Build the agent and the env of ``spec`` once: ValueError naming a bad keyword or value.

    It also builds what scoring every run needs once per process (the space's classes), so that
    forked workers inherit it instead of each building it again.
    """
    check_agent_kwargs(spec.agent, spec.agent_kwargs)
    try:
        agent = make(spec.agent, **spec.agent_kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"agent {spec.agent!r} with {spec.agent_kwargs}: {e}") from None
    try:
        env = make_env(spec, agent)
    except (TypeError, ValueError, gym.error.Error) as e:
        raise ValueError(f"env {spec.env_id} with {spec.env_kwargs} (for agent {spec.agent!r}): {e}") from None
    optimum_class(env.unwrapped.backend)
    env.close()


def _finished(spec: RunSpec, path: Path) -> bool:
    old = read_run(path)
    if old is None or old.get("status") != "ok":
        return False
    if old["spec"] != asdict(spec):
        raise ValueError(
            f"{path} holds a run of a different spec ({old['spec']}, not {asdict(spec)}): choose another output folder"
        )
    return True


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the main process's to handle (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def _execute(
    todo: list[tuple[RunSpec, Path]], workers: int, progress: bool, done: int,
    executor: str = "process", address: str | None = None, meanwhile: Callable[[], None] | None = None,
) -> None:
    """Run ``todo``; ``meanwhile`` runs in a thread of this process while worker processes do the runs."""
    from tqdm.auto import tqdm

    # A bar redrawn with carriage returns is for a terminal; in a CI log it is kilobytes of noise.
    show = progress and sys.stderr.isatty()
    bar = tqdm(total=len(todo) + done, initial=done, unit="run", disable=not show, desc="runs")
    counts = {"done": done, "failed": 0}

    def finished(status: str) -> None:
        counts["done"] += 1
        counts["failed"] += status != "ok"
        bar.update()
        bar.set_postfix(failed=counts["failed"])

    with bar:
        try:
            if executor == "ray":
                if todo:
                    _execute_ray(todo, address, finished)
            elif workers <= 1 or len(todo) <= 1:
                with sigint_handler(interrupt_once):  # stops the run in progress; it writes no file
                    for spec, path in todo:
                        finished(_run_and_write(spec, path)[0])
            else:
                _execute_parallel(todo, workers, finished, meanwhile)
        except KeyboardInterrupt:
            # count the files, not the callbacks: Ctrl-C can land after a run wrote its file and before it was counted
            kept = done + sum(path.exists() for _, path in todo)
            raise GridInterrupted(kept, len(todo) + done) from None


class RunQueue:
    """The runs still to start, seed by seed; within a seed the agent whose runs took longest so far first.

    Runs of one agent take about as long as each other, and agents differ by orders of magnitude
    (a random search in milliseconds, Bayesian optimisation in seconds). Starting each seed's
    slowest runs first leaves the quick ones for the end of the grid, so no worker idles there
    while another finishes a slow run. An agent that has not finished a run yet counts as slowest.
    """

    def __init__(self, todo: list[tuple[RunSpec, Path]]) -> None:
        self._seeds: dict[int, list[tuple[RunSpec, Path]]] = {}  # in the order of todo (seed-major)
        for job in todo:
            self._seeds.setdefault(job[0].seed, []).append(job)
        self._left = len(todo)
        self._seconds: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return self._left

    def record(self, agent: str, seconds: float) -> None:
        """A run of ``agent`` took ``seconds``."""
        self._seconds.setdefault(agent, []).append(seconds)

    def pop(self) -> tuple[RunSpec, Path]:
        seed, jobs = next(iter(self._seeds.items()))
        job = jobs.pop(max(range(len(jobs)), key=lambda k: (self._mean(jobs[k][0].agent), -k)))
        if not jobs:
            del self._seeds[seed]
        self._left -= 1
        return job

    def _mean(self, agent: str) -> float:
        seconds = self._seconds.get(agent)
        return sum(seconds) / len(seconds) if seconds else math.inf


def _execute_parallel(
    todo: list[tuple[RunSpec, Path]], workers: int, finished: Callable[[str], None],
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Run ``todo`` in ``workers`` processes; on SIGINT stop them all and raise KeyboardInterrupt.

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
        max_workers=n_workers, mp_context=get_context(worker_start_method()), initializer=_ignore_sigint
    )
    helper: threading.Thread | None = None
    with sigint_handler(lambda signum, frame: stop.set()):
        try:
            running: dict[Any, str] = {}
            while (queue or running) and not stop.is_set():
                while queue and len(running) <= n_workers:
                    spec, path = queue.pop()
                    running[pool.submit(_run_and_write, spec, path)] = spec.agent
                if meanwhile is not None and helper is None:  # the first submit started every worker
                    helper = threading.Thread(target=meanwhile, daemon=True)
                    helper.start()
                done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    status, seconds = fut.result()
                    queue.record(running.pop(fut), seconds)
                    finished(status)
        except BaseException:
            _stop(pool)
            raise
        if stop.is_set():
            _stop(pool)
            raise KeyboardInterrupt
    pool.shutdown()
    if helper is not None:
        helper.join()


def _ray_run_one(spec: RunSpec) -> dict[str, Any]:
    """A Ray task's body: one run's payload (module-level, so workers import it by name)."""
    return run_one(spec)


def _execute_ray(todo: list[tuple[RunSpec, Path]], address: str | None, finished: Callable[[str], None]) -> None:
    """Run ``todo`` as Ray tasks; the results files are written here as the tasks finish.

    SIGINT sets a flag that the loop polls (see :func:`_execute_parallel`); then the tasks still
    running are cancelled and KeyboardInterrupt is raised.
    """
    try:
        import ray
    except ImportError:
        raise ValueError("executor='ray' needs Ray: pip install 'nas-gym[ray]'") from None
    if not ray.is_initialized():
        # A local Ray when no address is given; the grid's output goes to its own results files.
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    task = ray.remote(num_cpus=1, max_retries=0)(_ray_run_one)
    stop = threading.Event()
    with sigint_handler(lambda signum, frame: stop.set()):
        refs = {task.remote(spec): path for spec, path in todo}
        pending = list(refs)
        try:
            while pending and not stop.is_set():
                ready, pending = ray.wait(pending, num_returns=1, timeout=0.2)
                for ref in ready:
                    payload = ray.get(ref)
                    write_atomic(refs[ref], payload)
                    finished(payload["status"])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
        if stop.is_set():
            raise KeyboardInterrupt


def worker_start_method() -> str:
    """``fork`` on Linux while this process has not imported torch, else ``spawn``.

    Forked workers inherit the imported modules and the loaded tables: for grids of cheap
    searches, a spawned worker's imports (numpy, gymnasium, scipy, optuna, the tables: seconds of
    CPU each) cost more than the runs it takes over. Torch's thread pools and CUDA are not safe
    across a fork, so once torch is loaded (an RL agent was made here) workers are spawned.
    """
    return "fork" if sys.platform == "linux" and "torch" not in sys.modules else "spawn"


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued runs and terminate the running ones (finished runs have their files)."""
    # The executor has no public way to stop running work before Python 3.14.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(timeout=10)

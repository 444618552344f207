"""The agents x seeds grid: one search per (agent, seed), in parallel processes, resumable.

Each run makes its own env with ``gym.make`` (in a worker process when ``workers > 1``),
searches, scores the result (:mod:`.evaluation`) and writes one results file (:mod:`.results`).
A run depends only on its spec, and runs single-threaded wherever it is, so a grid gives the
same numbers with any number of workers. A run that raises records its error; the others go on.

Where the runs execute (worker processes, Ray tasks) and how a grid stops (Ctrl-C, a worker
killed by the system) is :mod:`.executors`'s business; either way every run that finished keeps
its file, and running the grid again resumes.
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import gymnasium as gym

from ..agents import Budget, agent_names, make
from ..agents.base import check_budget_units, check_family
from ..agents.kwargs import check_agent_kwargs
from ..envs.checks import whole_number
from ..envs.registration import FEWSHOT_ID
from ..progress import Progress
from ..supernets import SUPERNETS
from .evaluation import optimum_class, score
from .executors import (
    GridInterrupted,
    WorkerDied,
    execute_parallel,
    execute_ray,
    interrupt_once,
    sigint_handler,
    worker_start_method,
)
from .results import check_folder, check_writable, read_run, run_path, write_atomic
from .summary import summarise

FAMILY = re.compile(r"-(Seq|Cont|Edit)-")
EXECUTORS = ("process", "ray")
BYTES_PER_QUERY = 256  # peak memory per query of a run (random search on NB201, measured)


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
    parts = (
        ([str(budget.queries)] if budget.queries is not None else [])
        + ([f"{budget.seconds:g}s"] if budget.seconds is not None else [])
        + ([f"{budget.epochs:g}ep"] if budget.epochs is not None else [])
    )
    return "+".join(parts)


def parse_budget(text: str) -> Budget:
    """Inverse of :func:`budget_text` (:meth:`Budget.parse`)."""
    return Budget.parse(text)


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


def torch_backed(env_id: str) -> bool:
    """Whether the env of ``env_id`` runs torch (a supernet, the few-shot env): then a worker
    process pins torch to one thread before the env is built (a spawned worker has not loaded it yet)."""
    spec = gym.registry.get(full_env_id(env_id).split(":", 1)[1])
    return spec is not None and (spec.kwargs.get("benchmark") in SUPERNETS or spec.id == FEWSHOT_ID)


@contextmanager
def single_threaded(torch_too: bool) -> Iterator[None]:
    """One BLAS (and torch) thread for the block: parallel runs then share cores fairly, and a
    run computes the same floats whether it runs alone or beside others."""
    from threadpoolctl import threadpool_limits

    old: int | None = None  # torch's thread count, where torch is used
    if torch_too or "torch" in sys.modules:
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        if old is not None:
            torch.set_num_threads(old)


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Run one search and score it; the payload of its results file (errors included)."""
    # the env id as registered, so that a failed run groups with the others (a finished one names its env's)
    payload: dict[str, Any] = {"spec": asdict(spec), "status": "ok", "env": full_env_id(spec.env_id).split(":", 1)[1]}
    start = time.perf_counter()
    try:
        agent = make(spec.agent, **spec.agent_kwargs)
        with single_threaded(torch_too=spec.agent.startswith("sb3:") or torch_backed(spec.env_id)):
            env = make_env(spec, agent)
            try:
                result = agent.search(env, parse_budget(spec.budget), spec.seed)
            finally:
                env.close()
        payload["env"] = env.spec.id if env.spec is not None else spec.env_id
        payload["log"] = {
            "arch_index": result.arch_index.tolist(),
            "val": result.val.tolist(),
            "cost_s": result.cost_s.tolist(),
        }
        base: Any = env.unwrapped
        payload["result"] = score(result, base.backend)
    except Exception as e:  # a failing run is recorded and the grid goes on
        payload.update(status="error", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    payload["wall_s"] = time.perf_counter() - start
    return payload


def _run_and_write(spec: RunSpec, path: Path) -> tuple[str, float, str]:
    """Run ``spec``, write its file at ``path``; its status, wall seconds and a few words on it."""
    return _write(path, run_one(spec))


def _write(path: Path, payload: dict[str, Any]) -> tuple[str, float, str]:
    """Write a run's file; its status, wall seconds and a few words on it (for the progress report)."""
    write_atomic(path, payload)
    spec = payload["spec"]
    how = f"best val {payload['result']['best_val']:.2f}" if payload["status"] == "ok" else "failed"
    return payload["status"], payload["wall_s"], f"{spec['agent']} seed {spec['seed']}: {how}"


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
    parsed = Budget.parse(budget) if not isinstance(budget, str) else parse_budget(budget)
    check_budget_memory(parsed, min(workers, len(agents) * len(seed_list)) if executor == "process" else 1)
    text = budget_text(parsed)
    specs = [
        RunSpec(
            env_id,
            a,
            s,
            text,
            {**(env_kwargs or {}), **(agent_env_kwargs or {}).get(a, {})},
            dict((agent_kwargs or {}).get(a, {})),
        )
        for a in agents
        for s in seed_list
    ]
    # one spec per agent: a bad keyword or budget fails here, not per run; every agent before any env is built
    made = [(spec, check_agent(spec, parsed)) for spec in {sp.agent: sp for sp in specs}.values()]
    for spec, agent in made:
        check_env(spec, agent)
    check_writable(out)
    paths = [run_path(out, sp.agent, sp.seed) for sp in specs]
    todo = [(sp, p) for sp, p in zip(specs, paths) if not (resume and _finished(sp, p))]
    todo.sort(key=lambda job: seed_list.index(job[0].seed))  # seed-major: slow agents spread over the run
    meanwhile = _load_plotting if summary else None
    _execute(
        todo, workers, progress, done=len(specs) - len(todo), executor=executor, address=address, meanwhile=meanwhile
    )
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
        seed_list = [whole_number("seed", s, minimum=0) for s in cast(Iterable[Any], seeds)]  # a bool is not a count
    else:
        seed_list = list(range(whole_number("seeds", seeds, meaning="how many seeds, 0..seeds-1")))
    if not seed_list:
        raise ValueError("seeds must name at least one seed, got an empty list")
    whole_number("workers", workers, meaning="parallel processes")
    check_folder(out)
    return seed_list


def check_budget_memory(budget: Budget, at_once: int) -> None:
    """ValueError naming the budget when ``at_once`` runs' query logs cannot fit in this machine's memory.

    A run keeps every query it makes (the log, its scored result and the JSON of its file:
    about :data:`BYTES_PER_QUERY` at the peak), so an absurd query budget would run for hours and
    then fail; it is refused before it starts. A budget in seconds or epochs cannot be sized here.
    """
    if budget.queries is None or not hasattr(os, "sysconf"):
        return
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    need = budget.queries * BYTES_PER_QUERY * at_once
    if need > memory:
        most = memory // (BYTES_PER_QUERY * at_once)
        raise ValueError(
            f"budget {budget.queries} queries: each run keeps every query (about {BYTES_PER_QUERY} bytes each), "
            f"{need / 2**30:.0f} GiB for {at_once} run(s) at once, more than this machine's {memory / 2**30:.0f} GiB; "
            f"valid here: at most {most:,} queries{' (or fewer workers)' if at_once > 1 else ''}"
        )


def check_agent(spec: RunSpec, budget: Budget) -> Any:
    """The agent of ``spec``; ValueError naming a bad keyword or value, or a budget it cannot spend."""
    check_agent_kwargs(spec.agent, spec.agent_kwargs)
    try:
        agent = make(spec.agent, **spec.agent_kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"agent {spec.agent!r} with {spec.agent_kwargs}: {e}") from None
    check_budget_units(agent, budget)
    return agent


def check_env(spec: RunSpec, agent: Any) -> None:
    """Build the env of ``spec`` for ``agent`` once: ValueError naming a bad keyword or value.

    It also builds what scoring every run needs once per process (the space's classes), so that
    forked workers inherit it instead of each building it again; a supernet is pretrained here,
    once, and worker processes load its cached checkpoint.
    """
    try:
        env = make_env(spec, agent)
    except (TypeError, ValueError, gym.error.Error) as e:
        raise ValueError(f"env {spec.env_id} with {spec.env_kwargs} (for agent {spec.agent!r}): {e}") from None
    base: Any = env.unwrapped
    optimum_class(base.backend)
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


def _execute(
    todo: list[tuple[RunSpec, Path]],
    workers: int,
    progress: bool,
    done: int,
    executor: str = "process",
    address: str | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Run ``todo``; ``meanwhile`` runs in a thread of this process while worker processes do the runs."""
    what = f"compare on {todo[0][0].env_id}" if todo else "compare"
    report = Progress(len(todo) + done, what, "run", initial=done, enabled=progress and bool(todo))
    counts = {"failed": 0}

    def finished(status: str, note: str) -> None:
        counts["failed"] += status != "ok"
        report.update(1, failed=counts["failed"], last=note)

    # count the files, not the callbacks: a stop can land after a run wrote its file and before it was counted
    kept = lambda: done + sum(path.exists() for _, path in todo)  # noqa: E731
    with report:
        try:
            if executor == "ray":
                if todo:
                    execute_ray(todo, address, run_one, _write, finished)
            elif workers <= 1 or len(todo) <= 1:
                with sigint_handler(interrupt_once):  # stops the run in progress; it writes no file
                    for spec, path in todo:
                        status, _, note = _run_and_write(spec, path)
                        finished(status, note)
            else:
                execute_parallel(todo, workers, _run_and_write, finished, meanwhile)
        except KeyboardInterrupt:
            raise GridInterrupted(kept(), len(todo) + done) from None
        except WorkerDied as e:
            raise WorkerDied(
                f"{e}; {kept()} of {len(todo) + done} runs finished and are kept in {todo[0][1].parent}: run the "
                "grid again to resume (with fewer workers if memory ran out)"
            ) from None

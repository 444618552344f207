"""Results files: one JSON file per (agent, seed) run under ``OUT/runs/``, written atomically.

A file is written once, when its run ends (finished or failed), to a temporary name that is
then renamed over the final one, so a killed process leaves either a complete file or none:
re-running the grid skips what finished and redoes the rest.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

RUNS = "runs"


def run_path(out: str | Path, agent: str, seed: int) -> Path:
    """``OUT/runs/<agent>__seed<k>.json`` (``:`` in names such as ``sb3:PPO`` becomes ``-``)."""
    return Path(out) / RUNS / f"{agent.replace(':', '-').replace('/', '-')}__seed{int(seed)}.json"


def write_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as strict JSON (NaN as null) via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(_finite(payload), f, allow_nan=False, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_run(path: str | Path) -> dict[str, Any] | None:
    """The run stored at ``path``; None when there is none or it cannot be read."""
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def load_runs(out: str | Path, paths: Iterable[str | Path] | None = None) -> list[dict[str, Any]]:
    """Every readable run under ``out`` (or only those at ``paths``), ordered by agent then seed."""
    files = sorted((Path(out) / RUNS).glob("*.json")) if paths is None else [Path(p) for p in paths]
    runs = [r for p in files if (r := read_run(p)) is not None]
    return sorted(runs, key=lambda r: (r["spec"]["agent"], r["spec"]["seed"]))


def _finite(x: Any) -> Any:
    """``x`` with every non-finite float replaced by None, as strict JSON needs."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x

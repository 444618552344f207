"""Results files: one JSON file per (agent, seed) run under ``OUT/runs/``, written atomically.

A file is written once, when its run ends (finished or failed), to a temporary name that is
then renamed over the final one, so a killed process leaves either a complete file or none:
re-running the grid skips what finished and redoes the rest. A write that fails (a full disk)
removes its temporary file; one that a killed process left behind is removed by the next
successful write of that run. :func:`check_writable` probes the folder before a grid starts.

A file that exists but is not a results file (edited by hand: not UTF-8, not JSON, a list, no
``spec``, a NaN, a folder in its place) is a ValueError naming it and saying to delete it, which
runs that run again; it is never skipped or summarised as if it were a run.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RUNS = "runs"
# a finished run's result: the numbers the summary reads (None where there is none: the writer
# stores a NaN as null)
RESULT_NUMBERS = ("best_val", "sim_time_s", "optimum", "queries_to_optimum", "time_to_optimum_s", "test")


def run_path(out: str | Path, agent: str, seed: int) -> Path:
    """``OUT/runs/<agent>__seed<k>.json`` (``:`` in names such as ``sb3:PPO`` becomes ``-``)."""
    return Path(out) / RUNS / f"{agent.replace(':', '-').replace('/', '-')}__seed{int(seed)}.json"


class ResultsWriteError(OSError):
    """A results file could not be written (a full or read-only disk); the message names it."""


def write_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as strict JSON (NaN as null) via a temporary file and ``os.replace``;
    :class:`ResultsWriteError` naming ``path`` when the disk refuses."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(_finite(payload), f, allow_nan=False, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ResultsWriteError(
            f"cannot write {path} ({e.strerror or e}): free space or choose another folder, "
            "then run again (finished runs are kept)"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _remove_orphans(path)


def _remove_orphans(path: Path) -> None:
    """Remove the temporary files of ``path`` that killed processes left (their pid is gone)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


def check_folder(out: str | Path) -> None:
    """ValueError naming ``out`` when it or a folder above it is a file (nothing is written)."""
    blocker = next((p for p in [Path(out), *Path(out).parents] if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ValueError(f"out {str(out)!r} cannot be a results folder: {str(blocker)!r} is a file, not a folder")


def check_writable(out: str | Path) -> None:
    """ValueError naming ``out`` when its results folder cannot be created or written (read-only,
    full, a file in its path): found before a grid computes anything."""
    check_folder(out)
    runs = Path(out) / RUNS
    probe = runs / f".probe.{os.getpid()}.tmp"
    try:
        runs.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"{}" * 2048)  # a small results file's worth: a nearly full disk fails here
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise ValueError(
            f"out {str(out)!r}: cannot write results there ({e.strerror or e}); choose another folder or free space"
        ) from None
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass


def read_json(path: str | Path) -> dict[str, Any] | None:
    """The JSON object stored at ``path``; None when there is no file; ValueError naming the file
    when it is not a UTF-8 JSON object of finite numbers (what :func:`write_atomic` writes)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f, parse_constant=_refuse_constant)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise unreadable(path, "it is a folder, not a file") from None
    except UnicodeDecodeError as e:
        raise unreadable(path, f"not UTF-8 text: byte {e.object[e.start]:#04x} at offset {e.start}") from None
    except ValueError as e:  # JSONDecodeError and the constants refused below
        raise unreadable(path, f"not valid JSON: {e}") from None
    except OSError as e:
        raise unreadable(path, e.strerror or str(e)) from None
    if not isinstance(obj, dict):
        raise unreadable(path, f"a JSON {type(obj).__name__}, not an object")
    return obj


def read_run(path: str | Path) -> dict[str, Any] | None:
    """The run stored at ``path``; None when there is none; ValueError naming the file when it
    is not a results file (see the module docstring)."""
    run = read_json(path)
    if run is None:
        return None
    problem = _run_problem(run)
    if problem:
        raise unreadable(path, problem)
    return run


def unreadable(path: str | Path, why: str) -> ValueError:
    return ValueError(f"{path} is not a readable results file ({why}); delete it to run that run again")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"it holds {name}, which results files never do")


def _run_problem(run: dict[str, Any]) -> str | None:
    """What makes ``run`` no results file, or None."""
    spec = run.get("spec")
    if not isinstance(spec, dict) or not {"env_id", "agent", "seed", "budget"} <= set(spec):
        return "no spec with env_id, agent, seed and budget"
    if run.get("status") not in ("ok", "error"):
        return f"status {run.get('status')!r}, not 'ok' or 'error'"
    if run["status"] == "error":
        return None
    result = run.get("result")
    if not isinstance(result, dict):
        return "a finished run without its result"
    for key in RESULT_NUMBERS:
        if key not in result:
            return f"a result without {key}"
        v = result[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            return f"result {key} is {v!r}, not a number"
    if not isinstance(result.get("anytime"), list) or not isinstance(result.get("archs"), dict):
        return "a result without its anytime curve or architectures"
    return None


def load_runs(out: str | Path, paths: Iterable[str | Path] | None = None) -> list[dict[str, Any]]:
    """Every run under ``out`` (or only those at ``paths``), ordered by agent then seed (see :func:`read_run`)."""
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

"""Where benchmark data comes from: files users download, packages that ship tables, and the
documented cost estimate used where a table publishes no training time."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np

# What a table's average architecture is charged when the table has no training time. It is a
# unit, not a measurement: costs keep the table's relative compute (FLOPs or latency), and a
# budget in simulated seconds then means about budget / NOMINAL_MEAN_COST_S queries.
NOMINAL_MEAN_COST_S = 1000.0


def user_file(path: str | os.PathLike | None, env_var: str | None, what: str, where: str) -> Path:
    """The file a user supplies: ``path``, else ``$env_var``; FileNotFoundError saying where to
    get it when neither names an existing file or folder."""
    given = path if path is not None else (os.environ.get(env_var) if env_var else None)
    how = "pass path=..." + (f" or set {env_var}" if env_var else "")
    if not given:
        raise FileNotFoundError(f"{what} needs its data file, which is not shipped: {how}. Get it from {where}")
    p = Path(given).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what}: {str(p)!r} does not exist ({how}). Get the file from {where}")
    return p


def package_file(package: str, relative: str, pip_name: str) -> Path:
    """A data file shipped inside an installed package, found without importing the package
    (some ship imports that fail on current Python); FileNotFoundError naming the pip
    requirement when the package or file is missing."""
    spec = importlib.util.find_spec(package)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        if (Path(root) / relative).exists():
            return Path(root) / relative
    raise FileNotFoundError(
        f"this benchmark's tables come with the PyPI package {pip_name}"
        + (f" (installed, but without {relative})" if roots else "")
        + f": pip install {pip_name}"
    )


def path_key(prefix: str, path: Path) -> str:
    """Cache entry name for a user file: ``prefix`` and a hash of its absolute path."""
    digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:12]
    return f"{prefix}-{digest}"


def nominal_cost(measure: np.ndarray) -> np.ndarray:
    """Cost estimate proportional to ``measure`` (FLOPs, latency), the table mean charged
    :data:`NOMINAL_MEAN_COST_S`; NaN entries (absent rows) stay NaN."""
    m = np.asarray(measure, dtype=np.float64)
    return m * (NOMINAL_MEAN_COST_S / np.nanmean(m))


def nominal_cost_note(measure: str) -> str:
    """The ``cost_note`` of a table whose costs come from :func:`nominal_cost`."""
    return (
        f"estimate proportional to {measure}, table mean {NOMINAL_MEAN_COST_S:g} s "
        f"(the table publishes no training time)"
    )


def check_dataset(benchmark: str, dataset: str, valid: tuple[str, ...]) -> str:
    """``dataset`` if it is one of ``valid``, else ValueError listing them."""
    if dataset not in valid:
        raise ValueError(f"unknown {benchmark} dataset {dataset!r}; valid: {list(valid)}")
    return dataset

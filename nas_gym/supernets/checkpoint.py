"""Supernet checkpoints in the cache folder: keyed by what changes the weights, written whole.

A checkpoint is ``<cache>/supernets/<key>.pt``: a dict with the spec it was trained from, the
epochs done, and the network's, optimiser's and schedule's state. It is written to a temporary
file and renamed into place, so a killed write never leaves a half file under the key; a file
that cannot be read (truncated, another format) is treated as absent and rebuilt. Loading uses
``weights_only=True``: a checkpoint holds tensors and plain values, never code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..benchmarks.cache import cache_root

FORMAT_VERSION = 1


def spec_key(spec: dict[str, Any]) -> str:
    """A short hash of everything that changes the weights (space, size, data, split, recipe, seed)."""
    text = json.dumps({"format": FORMAT_VERSION, **spec}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_path(spec: dict[str, Any], folder: str | Path | None = None) -> Path:
    """Where the checkpoint of ``spec`` lives: ``folder`` or the cache's ``supernets/``."""
    base = Path(folder) if folder is not None else cache_root() / "supernets"
    return base / f"{spec.get('space', 'supernet')}-{spec_key(spec)}.pt"


def read_checkpoint(path: Path, spec: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None when it is missing or unreadable (to rebuild).

    A readable checkpoint of another spec raises ValueError naming both: loading it would
    silently give weights of another recipe.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except Exception:  # truncated, corrupt or foreign file: rebuild rather than fail
        return None
    if not isinstance(ckpt, dict) or "spec" not in ckpt or "model" not in ckpt:
        return None
    if spec is not None and ckpt["spec"] != _plain(spec):
        diff = sorted(k for k in set(ckpt["spec"]) | set(spec) if ckpt["spec"].get(k) != _plain(spec).get(k))
        raise ValueError(
            f"checkpoint {str(path)!r} was trained with another recipe (differs in {diff}: "
            f"{ {k: ckpt['spec'].get(k) for k in diff} } vs wanted { {k: _plain(spec).get(k) for k in diff} })"
        )
    return ckpt


def write_checkpoint(path: Path, ckpt: dict[str, Any]) -> None:
    """Write ``ckpt`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({**ckpt, "spec": _plain(ckpt["spec"])}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _plain(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as JSON values (what a checkpoint stores and compares)."""
    return json.loads(json.dumps(spec, sort_keys=True, default=str))

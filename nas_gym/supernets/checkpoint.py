"""Supernet checkpoints in the cache folder: keyed by what changes the weights, written whole,
verified on every load.

A checkpoint is ``<cache>/supernets/<key>.pt``: a dict with the spec it was trained from, the
epochs done, and the network's, optimiser's and schedule's state. It is written to a temporary
file and renamed into place, so a killed write never leaves a half file under the key, and is
made readable by every user the umask allows (``0644`` as a rule), like the table cache.

``torch.load`` does not check the CRC-32 that the zip archive keeps for each member, so a
flipped bit in the weights would load silently: every load first checks those CRCs
(``zipfile.ZipFile.testzip``, a few milliseconds per MB), then that the file holds a checkpoint
with finite weights. A file that fails (truncated, a flipped bit, another format) is reported
with a warning naming it and why, and trained again. Loading uses ``weights_only=True``: a
checkpoint holds tensors and plain values, never code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..benchmarks.cache import cache_root, share

FORMAT_VERSION = 1


class CorruptCheckpoint(ValueError):
    """A checkpoint file that exists but cannot be trusted; the message names the file and why."""


def spec_key(spec: dict[str, Any]) -> str:
    """A short hash of everything that changes the weights (space, size, data, split, recipe, seed)."""
    text = json.dumps({"format": FORMAT_VERSION, **spec}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_path(spec: dict[str, Any], folder: str | Path | None = None) -> Path:
    """Where the checkpoint of ``spec`` lives: ``folder`` or the cache's ``supernets/``."""
    base = Path(folder) if folder is not None else cache_root() / "supernets"
    return base / f"{spec.get('space', 'supernet')}-{spec_key(spec)}.pt"


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The verified checkpoint at ``path``: FileNotFoundError when there is none,
    :class:`CorruptCheckpoint` when its CRCs, format or weights fail the checks."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (FileNotFoundError, IsADirectoryError):
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as e:
        raise CorruptCheckpoint(f"supernet checkpoint {str(path)!r} is not a readable archive ({e})") from None
    if bad is not None:
        raise CorruptCheckpoint(f"supernet checkpoint {str(path)!r} is corrupt: member {bad!r} fails its CRC-32 check")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # another format, or a flip the CRCs cannot see (in a header)
        raise CorruptCheckpoint(f"supernet checkpoint {str(path)!r} cannot be read ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or not {"spec", "model", "epoch"} <= set(ckpt) or not isinstance(ckpt["model"], dict):
        raise CorruptCheckpoint(f"{str(path)!r} is not a supernet checkpoint (want a dict with spec, model and epoch)")
    bad_weights = [
        k
        for k, v in ckpt["model"].items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]
    if bad_weights:
        raise CorruptCheckpoint(f"supernet checkpoint {str(path)!r} holds non-finite weights in {bad_weights[:3]}")
    return ckpt


def read_checkpoint(path: Path, spec: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None when it is missing or corrupt (to rebuild; a corrupt
    one is reported with a warning).

    A readable checkpoint of another spec raises ValueError naming both: loading it would
    silently give weights of another recipe.
    """
    try:
        ckpt = load_checkpoint(path)
    except FileNotFoundError:
        return None
    except (CorruptCheckpoint, IsADirectoryError) as e:
        warnings.warn(f"{e}; training it again", stacklevel=2)
        return None
    check_spec(ckpt, path, spec)
    return ckpt


def check_spec(ckpt: dict[str, Any], path: Path, spec: dict[str, Any] | None) -> None:
    """ValueError naming ``path`` and the differing fields when ``ckpt`` was trained from another spec."""
    if spec is None or ckpt["spec"] == _plain(spec):
        return
    diff = sorted(k for k in set(ckpt["spec"]) | set(spec) if ckpt["spec"].get(k) != _plain(spec).get(k))
    raise ValueError(
        f"checkpoint {str(path)!r} was trained with another recipe (differs in {diff}: "
        f"{ {k: ckpt['spec'].get(k) for k in diff} } vs wanted { {k: _plain(spec).get(k) for k in diff} })"
    )


def write_checkpoint(path: Path, ckpt: dict[str, Any]) -> None:
    """Write ``ckpt`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({**ckpt, "spec": _plain(ckpt["spec"])}, f)
            f.flush()
            os.fsync(f.fileno())
        share(Path(tmp))  # mkstemp makes 0600 files: other users of a shared cache could not read them
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _plain(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as JSON values (what a checkpoint stores and compares)."""
    return json.loads(json.dumps(spec, sort_keys=True, default=str))

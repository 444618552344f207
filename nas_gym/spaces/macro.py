"""NAS-Bench-Macro space: 8 searchable layers, 3 blocks each (3**8 = 6,561 architectures).

The network is three stages of 2, 3 and 3 layers on CIFAR-10; the first layer of each stage
(layers 0, 2 and 5) halves the resolution and doubles the channels. Each layer is one of
``identity`` (code 0; a 1x1 convolution where the shape changes), ``mb3_k3`` (code 1: a
MobileNetV2 block, kernel 3, expansion 3) or ``mb6_k5`` (code 2: kernel 5, expansion 6). The
string is the benchmark's own key: one digit per layer, input side first (``"02012100"``).

An identity in a layer that keeps the shape (all but 0, 2 and 5) is a no-op, so within a stage
only the order of its blocks matters: the 6,561 strings name 3,969 networks, and the
benchmark's file repeats each network's record under all of its strings. The canonical form
moves such identities to the front of their stage (the smallest index of the class).
"""

from __future__ import annotations

import numpy as np

from .base import ArchLike, Space

MACRO_OPS = ("identity", "mb3_k3", "mb6_k5")
N_LAYERS = 8
DOWNSAMPLING_LAYERS = (0, 2, 5)
# the shape-keeping layers of each stage, [lo, hi), where an identity is a no-op
_FREE_RUNS = tuple(zip((d + 1 for d in DOWNSAMPLING_LAYERS), DOWNSAMPLING_LAYERS[1:] + (N_LAYERS,)))


class MacroSpace(Space):
    """The NAS-Bench-Macro chain of 8 layers with the benchmark's 8-digit strings."""

    def __init__(self) -> None:
        super().__init__(
            name="nas-bench-macro",
            decision_names=tuple(f"layer{i}" for i in range(N_LAYERS)),
            options=tuple(MACRO_OPS for _ in range(N_LAYERS)),
        )

    def to_string(self, arch: ArchLike) -> str:
        return "".join(str(int(c)) for c in self.codes(self.parse(arch)))

    def from_string(self, text: str) -> np.ndarray:
        digits = "".join(str(i) for i in range(len(MACRO_OPS)))
        if len(text) != N_LAYERS or any(c not in digits for c in text):
            raise ValueError(
                f"{self.name}: malformed architecture string {text!r}; expected {N_LAYERS} digits "
                f"from {digits!r} ({', '.join(f'{i}={o}' for i, o in enumerate(MACRO_OPS))}), e.g. '02012100'"
            )
        return np.array([int(c) for c in text], dtype=np.int64)

    def _build_canonical(self) -> np.ndarray:
        codes = self.codes_batch(np.arange(self.size))
        for lo, hi in _FREE_RUNS:
            seg = codes[:, lo:hi]
            order = np.argsort(seg != 0, axis=1, kind="stable")  # identities first, blocks in order
            codes[:, lo:hi] = np.take_along_axis(seg, order, axis=1)
        return self.indices(codes)

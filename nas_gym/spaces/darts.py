"""DARTS space (encoding only; no table): a normal and a reduction cell of 14 edges each.

A cell has inputs 0 and 1 (the two previous cells) and intermediate nodes 2..5; node ``k``
may read every lower-numbered node, so the edges are ``2<-0, 2<-1, 3<-0, 3<-1, 3<-2, ...,
5<-4``. Every edge is one decision over the 8 DARTS ops, ``none`` first; a real cell keeps
exactly two non-``none`` edges into each intermediate node. Strings are DARTS genotypes,
``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), reduce=[...], ...)``.

There are 8**28 (about 2**84) dense indices: they do not fit in int64, so index arithmetic is
done in Python ints and indices serve as names only. Work with codes (``(28,)`` int arrays).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .base import ArchLike, Space

DARTS_OPS = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
CELLS = ("normal", "reduce")
N_NODES = 4
# (node, input) of each edge of one cell, nodes numbered 2..5 as in DARTS genotypes
EDGES = tuple((k + 2, j) for k in range(N_NODES) for j in range(k + 2))
# first edge of each intermediate node within a cell
_NODE_START = tuple(sum(k + 2 for k in range(m)) for m in range(N_NODES))
_CONCAT = r"(?:range\(\s*2\s*,\s*6\s*\)|\[\s*2\s*,\s*3\s*,\s*4\s*,\s*5\s*\])"  # nodes 2..5 form the output
_CELL_RE = re.compile(
    rf"^\s*Genotype\(\s*normal\s*=\s*(\[.*?\])\s*,\s*normal_concat\s*=\s*{_CONCAT}\s*,"
    rf"\s*reduce\s*=\s*(\[.*?\])\s*,\s*reduce_concat\s*=\s*{_CONCAT}\s*\)\s*$",
    re.S,
)


class DartsSpace(Space):
    """Normal + reduction DARTS cells, one decision per edge (``none`` = edge absent)."""

    def __init__(self) -> None:
        super().__init__(
            name="darts",
            decision_names=tuple(f"{c}:{d}<-{s}" for c in CELLS for d, s in EDGES),
            options=tuple(DARTS_OPS for _ in range(len(CELLS) * len(EDGES))),
        )

    # --------------------------------------------------------------- strings
    def genotype(self, arch: ArchLike) -> dict[str, list[tuple[str, int]]]:
        """``{"normal": [(op, input), ...8], "reduce": [...]}``, two pairs per node in order."""
        codes = self.codes(self.parse(arch))
        self._require_valid(codes)
        out = {}
        for c, cell in enumerate(CELLS):
            row = codes[c * len(EDGES) : (c + 1) * len(EDGES)]
            out[cell] = [(DARTS_OPS[int(o)], src) for (_, src), o in zip(EDGES, row) if o != 0]
        return out

    def to_string(self, arch: ArchLike) -> str:
        g = self.genotype(arch)
        return (
            f"Genotype(normal={g['normal']}, normal_concat=range(2, 6), "
            f"reduce={g['reduce']}, reduce_concat=range(2, 6))"
        )

    def from_string(self, text: str) -> np.ndarray:
        normal, reduce = self._read_literals(_CELL_RE, text)
        return self.from_genotype(normal, reduce)

    def from_genotype(self, normal: Sequence, reduce: Sequence) -> np.ndarray:
        """Codes from DARTS genotype lists: 8 ``(op, input)`` pairs per cell, 2 per node."""
        codes = np.zeros(self.n_decisions, dtype=np.int64)
        for c, pairs in enumerate((normal, reduce)):
            pairs = list(pairs)
            if len(pairs) != 2 * N_NODES:
                raise ValueError(
                    f"{self.name}: a {CELLS[c]} cell has {2 * N_NODES} (op, input) pairs, got {len(pairs)}"
                )
            for k in range(N_NODES):
                seen = set()
                for op, src in pairs[2 * k : 2 * k + 2]:
                    if not isinstance(src, (int, np.integer)) or not 0 <= src < k + 2 or src in seen:
                        raise ValueError(
                            f"{self.name}: node {k + 2} of the {CELLS[c]} cell cannot read {src!r}; "
                            f"it reads two different nodes of {list(range(k + 2))}"
                        )
                    seen.add(src)
                    d = c * len(EDGES) + _NODE_START[k] + src
                    code = self._option_code(d, op)
                    if code == 0:
                        raise ValueError(f"{self.name}: a genotype lists real ops; valid: {list(DARTS_OPS[1:])}")
                    codes[d] = code
        return codes

    def parse(self, arch: ArchLike) -> int:
        if hasattr(arch, "normal") and hasattr(arch, "reduce"):  # a DARTS Genotype namedtuple
            return self.index(self.from_genotype(arch.normal, arch.reduce))
        return super().parse(arch)

    # -------------------------------------------------------------- validity
    def _in_degrees(self, codes: np.ndarray) -> np.ndarray:
        """Non-``none`` edges into each node: ``(n, 2 cells, 4 nodes)``."""
        live = np.asarray(codes).reshape(-1, len(CELLS), len(EDGES)) != 0
        return np.stack([live[:, :, s : s + k + 2].sum(axis=2) for k, s in enumerate(_NODE_START)], axis=2)

    def _valid_mask(self, codes: np.ndarray) -> np.ndarray:
        return (self._in_degrees(codes) == 2).all(axis=(1, 2))

    def _require_valid(self, codes: np.ndarray) -> None:
        deg = self._in_degrees(codes)[0]
        bad = np.argwhere(deg != 2)
        if len(bad):
            c, k = bad[0]
            raise ValueError(
                f"{self.name}: node {k + 2} of the {CELLS[c]} cell has {deg[c, k]} non-none inputs; "
                f"a DARTS cell has exactly 2 per node"
            )

    def prefix_mask(self, codes: np.ndarray, t: int) -> np.ndarray:
        """Decision ``t`` is an edge of some node: a real op while the node has fewer than two,
        ``none`` while the node's later edges can still bring it to two."""
        codes = np.asarray(codes)
        edge = t % len(EDGES)
        k = max(m for m, s in enumerate(_NODE_START) if s <= edge)  # the node's index among 2..5
        first = t - (edge - _NODE_START[k])
        have = (codes[:, first:t] != 0).sum(axis=1)
        left = first + k + 2 - t - 1  # the node's edges after this one
        out = np.zeros((len(codes), self.max_options), dtype=bool)
        out[:, 1:] = (have < 2)[:, None]
        out[:, 0] = have + left >= 2
        return out

    # -------------------------------------------------------- discretisation
    def discretise(self, alpha: np.ndarray) -> np.ndarray:
        """DARTS's rule (the thesis's Algorithm 2): for each intermediate node keep the two
        incoming edges whose strongest non-``none`` op weighs most, give each its argmax
        non-``none`` op, and set every other edge to ``none``.

        ``alpha`` is ``(28, 8)`` (the ``none`` column is ignored) or ``(28, 7)`` (the search
        without ``none``, as in the thesis), or a batch of either; ties go to the first edge/op.
        """
        a = np.asarray(alpha, dtype=np.float64)
        n_ops = a.shape[-1]
        if n_ops not in (len(DARTS_OPS), len(DARTS_OPS) - 1) or a.size % (self.n_decisions * n_ops):
            raise ValueError(
                f"{self.name}: alpha must be ({self.n_decisions}, {len(DARTS_OPS)}) or "
                f"({self.n_decisions}, {len(DARTS_OPS) - 1}) (without none), got shape {a.shape}"
            )
        single = a.ndim < 3
        real = a.reshape(-1, self.n_decisions, n_ops)[:, :, n_ops - len(DARTS_OPS) + 1 :]
        best_op = real.argmax(axis=2) + 1  # code of the best real op of every edge
        strength = real.max(axis=2)
        out = np.zeros(best_op.shape, dtype=np.int64)
        rows = np.arange(len(out))[:, None]
        for c in range(len(CELLS)):
            for k, s in enumerate(_NODE_START):
                lo = c * len(EDGES) + s
                top2 = np.argsort(-strength[:, lo : lo + k + 2], axis=1, kind="stable")[:, :2] + lo
                out[rows, top2] = best_op[rows, top2]
        return out[0] if single else out

    # -------------------------------------------------------- sample / edit
    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Uniform valid cells: two distinct inputs per node, each with a uniform real op."""
        m = 1 if n is None else n
        out = np.zeros((m, self.n_decisions), dtype=np.int64)
        rows = np.arange(m)[:, None]
        for c in range(len(CELLS)):
            for k, s in enumerate(_NODE_START):
                pick = rng.random((m, k + 2)).argsort(axis=1)[:, :2] + c * len(EDGES) + s
                out[rows, pick] = rng.integers(1, len(DARTS_OPS), (m, 2))
        return out[0] if n is None else out

    def neighbours(self, arch: ArchLike) -> np.ndarray:
        """Valid cells one mutation away: another real op on a kept edge, or a kept edge moved
        to another input of the same node with its op (the DARTS cell's two kinds of mutation)."""
        codes = self.codes(self.parse(arch))
        self._require_valid(codes)
        rows = []
        for c in range(len(CELLS)):
            for k, s in enumerate(_NODE_START):
                node = range(c * len(EDGES) + s, c * len(EDGES) + s + k + 2)
                for d in node:
                    if codes[d] == 0:
                        continue
                    for o in range(1, len(DARTS_OPS)):
                        if o != codes[d]:
                            rows.append(_with(codes, {d: o}))
                    for e in node:
                        if codes[e] == 0:
                            rows.append(_with(codes, {d: 0, e: int(codes[d])}))
        return np.array(rows, dtype=np.int64)


def _with(codes: np.ndarray, changes: dict[int, int]) -> np.ndarray:
    out = codes.copy()
    for d, o in changes.items():
        out[d] = o
    return out

"""NAS-Bench-201 cell space: 4 nodes, 6 edges, 5 operations per edge (15,625 cells).

Edges are in the order of the official arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``:
(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2). Many cells compute the same function (``none``
edges, edges fed by a zero node, identities and re-ordered sums); :func:`functional_key` names
the function, and the 15,625 cells fall into 6,466 classes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .base import ArchLike, Space

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
_ZERO = "#"


def functional_key(ops: tuple[str, ...]) -> str:
    """A string shared by cells that NAS-Bench-201 counts as one function (isomorphic cells).

    NAS-Bench-201's own rule: a node is the sorted sum of its incoming terms; ``skip_connect``
    passes its input's expression through, and a ``none`` edge or an edge leaving a zero node
    adds a zero term ``#``. A node is zero only when its single term is zero, and zero terms
    stay in a sum. This is the rule behind the published count of 6,466 distinct cells.
    """
    value = {0: "x"}
    for dst in (1, 2, 3):
        terms = sorted(
            _ZERO
            if op == "none" or value[src] == _ZERO
            else value[src]
            if op == "skip_connect"
            else f"({value[src]})@{op}"
            for (d, src), op in zip(NB201_EDGES, ops)
            if d == dst
        )
        value[dst] = "+".join(terms)
    return value[3]


@lru_cache(maxsize=1)
def _canonical_map() -> np.ndarray:
    """Per index: its class representative, the smallest index computing the same function."""
    first: dict[str, int] = {}
    codes = Space("nb201", tuple(map(str, NB201_EDGES)), (NB201_OPS,) * len(NB201_EDGES)).codes_batch(
        np.arange(len(NB201_OPS) ** len(NB201_EDGES))
    )
    out = np.array(
        [first.setdefault(functional_key(tuple(NB201_OPS[c] for c in row)), i) for i, row in enumerate(codes.tolist())],
        dtype=np.int64,
    )
    out.setflags(write=False)
    return out


class NB201Space(Space):
    """The NAS-Bench-201 space with its official string format and isomorphism classes."""

    def __init__(self) -> None:
        super().__init__(
            name="nb201",
            decision_names=tuple(f"{d}<-{s}" for d, s in NB201_EDGES),
            options=tuple(NB201_OPS for _ in NB201_EDGES),
        )

    def to_string(self, arch: ArchLike) -> str:
        ops = self.op_names(self.codes(self.parse(arch)))
        return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)

    def from_string(self, text: str) -> np.ndarray:
        nodes = text.split("+")
        ok = len(nodes) == 3 and all(n.startswith("|") and n.endswith("|") for n in nodes)
        codes: list[int] = []
        if ok:
            for dst, node in enumerate(nodes, start=1):
                items = node[1:-1].split("|")
                if len(items) != dst:
                    ok = False
                    break
                for src, item in enumerate(items):
                    op, sep, s = item.partition("~")
                    if not sep or s != str(src):
                        ok = False
                        break
                    codes.append(self._option_code(len(codes), op))
        if not ok or len(codes) != 6:
            raise ValueError(self._bad_string(text))
        return np.array(codes, dtype=np.int64)

    def _build_canonical(self) -> np.ndarray:
        return _canonical_map()

    def is_isolated(self, arch: ArchLike) -> bool:
        """True when no path carries the input to the output (the cell outputs zeros)."""
        return set(functional_key(self.op_names(self.codes(self.parse(arch))))) <= {_ZERO, "+"}

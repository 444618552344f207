"""NAS-Bench-Graph space: four GNN layers, each reading one earlier node and applying one op.

Node ``i`` (0..3) reads ``link[i]``: 0 is the graph input, ``j >= 1`` is the output of node
``j - 1``; node 0 always reads the input, so its link is not a decision. The cell's output
combines the nodes no other node reads. Decisions, node by node: ``op0, in1, op1, in2, op2,
in3, op3`` (24 link patterns x 9**4 ops = 157,464 indices; 24 x 5**4 = 15,000 for proteins,
which was benchmarked on its own 5 ops). Strings use the benchmark package's own terms,
``Arch([0, 0, 1, 2], ['gcn', 'gat', 'sage', 'fc'])``.

Many choices build the same network, and the benchmark stores one representative per class
(26,206 of them; 2,021 for proteins). :meth:`GraphSpace.canonical_index` finds it in two steps:

1. *Idle skips.* ``skip`` is the identity. Going through the nodes in label order, a skip
   node that has readers, or has no sibling, or merely copies the graph input, is moved: its
   readers read its parent instead, and the node goes right after the graph input, which it
   copies, so that every node that read the input reads it (the values seen do not change).
2. *Relabelling.* Among all orders of the nodes that keep every parent before its readers,
   take the one whose link list is smallest, then whose op list is smallest (ops ranked as in
   the benchmark's 9-op list), comparing lexicographically.

A cell of four skips has no GNN layer: it is invalid and absent from the tables.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import cache

import numpy as np

from .base import ArchLike, Space

GNN_OPS = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
PROTEINS_OPS = ("gcn", "sage", "arma", "fc", "skip")
# The benchmark's nine link patterns, in the order its keys number them (key digit 0).
TABLE_LINKS = (
    (0, 0, 0, 0),
    (0, 0, 0, 1),
    (0, 0, 1, 1),
    (0, 0, 1, 2),
    (0, 0, 1, 3),
    (0, 1, 1, 1),
    (0, 1, 1, 2),
    (0, 1, 2, 2),
    (0, 1, 2, 3),
)
N_NODES = 4
OP_DECISIONS = (0, 2, 4, 6)  # positions of op0..op3 among the decisions
LINK_DECISIONS = (1, 3, 5)  # positions of in1..in3
_ARCH_RE = re.compile(
    r"^\s*Arch\(\s*(?:(?:lk|link)\s*=\s*)?(\[[^\]]*\])\s*,\s*(?:(?:op|ops)\s*=\s*)?(\[[^\]]*\])\s*\)\s*$"
)


def all_links() -> list[tuple[int, ...]]:
    """The 24 link lists a choice can make (``link[i]`` in ``0..i``)."""
    return [(0, a, b, c) for a in range(2) for b in range(3) for c in range(4)]


def _park_idle_skips(link: Sequence[int], skip: Sequence[bool]) -> list[int]:
    """Step 1 of the canonical form on a link list; returns the new link list."""
    parent = [v - 1 for v in link]  # -1: the graph input
    for i in range(N_NODES):  # in label order, as the benchmark did when it built its keys
        if not skip[i]:
            continue
        readers = [j for j in range(N_NODES) if parent[j] == i]
        siblings = [j for j in range(N_NODES) if j != i and parent[j] == parent[i]]
        k, copies_input = i, True
        while k >= 0:
            copies_input &= bool(skip[k])
            k = parent[k]
        if readers or not siblings or copies_input:
            old = parent[i]
            for j in range(N_NODES):
                if j != i and parent[j] == i and old >= 0:
                    parent[j] = old  # read through the identity
                elif j != i and parent[j] == -1:
                    parent[j] = i  # the moved skip copies the input for everyone
            parent[i] = -1
    return [p + 1 for p in parent]


def _best_orders(link: Sequence[int]) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """Step 2 for the links: the smallest relabelled link list and every order giving it.

    An order lists old node numbers by new position; the op list is then chosen among them.
    """
    best: tuple[int, ...] | None = None
    orders: list[tuple[int, ...]] = []
    for order in itertools.permutations(range(N_NODES)):
        pos = {old: new for new, old in enumerate(order)}
        new = tuple(0 if link[old] == 0 else pos[link[old] - 1] + 1 for old in order)
        if any(new[p] > p for p in range(N_NODES)):
            continue  # a node would read a later one
        if best is None or new < best:
            best, orders = new, [order]
        elif new == best:
            orders.append(order)
    assert best is not None
    return best, orders


@cache
def _canonical_codes(ops: tuple[str, ...]) -> np.ndarray:
    """Canonical codes ``(size, 7)`` of every index of the space over ``ops`` (read-only)."""
    space = Space("tmp", tuple(_decision_names()), _decision_options(ops))
    codes = space.codes_batch(np.arange(space.size))
    op_codes = codes[:, OP_DECISIONS]
    rank = np.array([GNN_OPS.index(o) for o in ops])[op_codes]  # the benchmark's op order
    skip = op_codes == ops.index("skip")
    link_id = codes[:, LINK_DECISIONS] @ np.array([12, 4, 1])
    group = link_id * 16 + skip @ np.array([8, 4, 2, 1])
    out = codes.copy()
    links = all_links()
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        skips = [bool(int(g) >> (3 - k) & 1) for k in range(N_NODES)]
        if all(skips):
            continue  # no GNN layer: invalid, stays as it is
        new_link, orders = _best_orders(_park_idle_skips(links[int(g) // 16], skips))
        # op lists under each admissible order, as one comparable number (base 10 > 9 ops)
        keys = np.stack([rank[rows][:, order] @ np.array([1000, 100, 10, 1]) for order in orders])
        pick = np.array(orders)[keys.argmin(axis=0)]  # (len(rows), 4)
        out[np.ix_(rows, np.array(OP_DECISIONS))] = np.take_along_axis(op_codes[rows], pick, axis=1)
        out[np.ix_(rows, np.array(LINK_DECISIONS))] = new_link[1:]
    out.setflags(write=False)
    return out


def _decision_names() -> list[str]:
    names = ["op0"]
    for i in range(1, N_NODES):
        names += [f"in{i}", f"op{i}"]
    return names


def _decision_options(ops: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    opts: list[tuple[str, ...]] = [tuple(ops)]
    for i in range(1, N_NODES):
        opts += [tuple(str(v) for v in range(i + 1)), tuple(ops)]
    return tuple(opts)


class GraphSpace(Space):
    """The NAS-Bench-Graph space over the 9 GNN ops (or the 5 of the proteins benchmark)."""

    ops: tuple[str, ...]  # set in __init__ (the space is frozen)

    def __init__(self, proteins: bool = False) -> None:
        ops = PROTEINS_OPS if proteins else GNN_OPS
        super().__init__(
            name="nas-bench-graph-proteins" if proteins else "nas-bench-graph",
            decision_names=tuple(_decision_names()),
            options=_decision_options(ops),
        )
        object.__setattr__(self, "ops", ops)

    # ------------------------------------------------------------ conversions
    def link_ops(self, arch: ArchLike) -> tuple[list[int], list[str]]:
        """``(link, ops)`` in the package's terms."""
        codes = self.codes(self.parse(arch))
        link = [0] + [int(codes[d]) for d in LINK_DECISIONS]
        return link, [self.ops[int(codes[d])] for d in OP_DECISIONS]

    def from_link_ops(self, link: Sequence[int], ops: Sequence[str]) -> np.ndarray:
        """Codes of the architecture with package-style ``link`` and op names ``ops``."""
        link, ops = list(link), list(ops)
        if len(link) != N_NODES or len(ops) != N_NODES:
            raise ValueError(f"{self.name}: need {N_NODES} links and {N_NODES} ops, got {link!r}, {ops!r}")
        for i, v in enumerate(link):
            if not isinstance(v, (int, np.integer)) or not 0 <= int(v) <= i or (i == 0 and v != 0):
                raise ValueError(
                    f"{self.name}: link {v!r} of node {i} is not allowed; node {i} reads one of "
                    f"{list(range(i + 1)) if i else [0]} (0 = the graph input)"
                )
        codes = np.empty(self.n_decisions, dtype=np.int64)
        for k, d in enumerate(OP_DECISIONS):
            codes[d] = self._option_code(d, ops[k])
        for k, d in enumerate(LINK_DECISIONS, start=1):
            codes[d] = int(link[k])
        return codes

    def parse(self, arch: ArchLike) -> int:
        if hasattr(arch, "link") and hasattr(arch, "ops"):  # the package's Arch object
            return self.index(self.from_link_ops(arch.link, arch.ops))
        return super().parse(arch)

    def to_string(self, arch: ArchLike) -> str:
        link, ops = self.link_ops(arch)
        return f"Arch({link}, {ops})"

    def from_string(self, text: str) -> np.ndarray:
        link, ops = self._read_literals(_ARCH_RE, text)
        return self.from_link_ops(link, ops)

    # ------------------------------------------------------- validity / form
    def _build_canonical(self) -> np.ndarray:
        return self.indices(_canonical_codes(self.ops))

    def _valid_mask(self, codes: np.ndarray) -> np.ndarray:
        ops = np.asarray(codes)[:, OP_DECISIONS]
        return (ops != self.ops.index("skip")).any(axis=1)

    def discretise(self, alpha: np.ndarray) -> np.ndarray:
        """Argmax per decision; when that picks four skips, the node whose best non-skip op
        weighs most takes that op instead, so the result is always a valid cell."""
        out = np.array(super().discretise(alpha))
        batch = out.reshape(-1, self.n_decisions)
        bad = np.flatnonzero(~self._valid_mask(batch))
        if len(bad):
            a = np.asarray(alpha, dtype=np.float64).reshape(-1, self.n_decisions, self.max_options)
            w = a[np.ix_(bad, np.array(OP_DECISIONS))][:, :, : len(self.ops)].copy()  # (n_bad, 4, n_ops)
            w[:, :, self.ops.index("skip")] = -np.inf
            node = w.max(axis=2).argmax(axis=1)
            batch[bad, np.array(OP_DECISIONS)[node]] = w[np.arange(len(bad)), node].argmax(axis=1)
        return out

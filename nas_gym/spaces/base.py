"""A search space as a tuple of categorical decisions, with a dense mixed-radix index.

Every space in the suite is this class (or a thin subclass that overrides the string format,
validity, canonical form or discretisation). An architecture is held in one of three forms:
its dense integer *index* (for O(1) table lookups), its *codes* (one option index per
decision, an int array) and its canonical *string*.

Spaces too large for int64 indices (DARTS, 8**28) keep their index arithmetic in Python ints
(object arrays); such spaces have no table, so their indices are names, not row numbers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

ArchLike = Any  # int index | sequence of option indices or names | canonical string


@dataclass(frozen=True, eq=False)
class Space:
    """Categorical decisions ``decision_names[i]`` with options ``options[i]``."""

    name: str
    decision_names: tuple[str, ...]
    options: tuple[tuple[str, ...], ...]
    _radix: np.ndarray = field(init=False, repr=False)
    _weights: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.decision_names) != len(self.options):
            raise ValueError("decision_names and options must have the same length")
        radix = np.array([len(o) for o in self.options], dtype=np.int64)
        if (radix < 1).any():
            raise ValueError("every decision needs at least one option")
        # Most significant decision first, so sorting indices sorts codes lexicographically.
        # Python ints first: the product may not fit in int64.
        w = [1] * len(radix)
        for i in range(len(radix) - 2, -1, -1):
            w[i] = w[i + 1] * int(radix[i + 1])
        big = w[0] * int(radix[0]) > np.iinfo(np.int64).max if len(w) else False
        weights = np.array(w, dtype=object if big else np.int64)
        object.__setattr__(self, "_radix", radix)
        object.__setattr__(self, "_weights", weights)

    # ----------------------------------------------------------------- sizes
    @property
    def n_decisions(self) -> int:
        return len(self.options)

    @property
    def n_options(self) -> np.ndarray:
        """Number of options of each decision, shape ``(n_decisions,)``."""
        return self._radix.copy()

    @property
    def max_options(self) -> int:
        return int(self._radix.max())

    @property
    def size(self) -> int:
        """Number of dense indices (every combination of options, valid or not)."""
        return int(self._weights[0]) * int(self._radix[0]) if self.n_decisions else 1

    @property
    def big(self) -> bool:
        """True when indices do not fit in int64 (index arithmetic is in Python ints)."""
        return self._weights.dtype == object

    @property
    def option_mask(self) -> np.ndarray:
        """Boolean ``(n_decisions, max_options)``: which padded columns are real options."""
        return np.arange(self.max_options)[None, :] < self._radix[:, None]

    # ----------------------------------------------------------- conversions
    def index(self, codes: Sequence[int] | np.ndarray) -> int:
        """Dense index of one architecture given by its option codes."""
        c = np.asarray(codes, dtype=np.int64)
        self._check_codes(c)
        return int(c @ self._weights)

    def codes(self, index: int) -> np.ndarray:
        """Option codes of the architecture at dense ``index``."""
        self._check_index(index)
        return ((int(index) // self._weights) % self._radix).astype(np.int64)

    def indices(self, codes: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`index` over a ``(n, n_decisions)`` array (no range checks)."""
        return np.asarray(codes, dtype=np.int64) @ self._weights

    def codes_batch(self, indices: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`codes`: ``(n,)`` indices to ``(n, n_decisions)`` codes."""
        idx = np.asarray(indices, dtype=object if self.big else np.int64)[:, None]
        return ((idx // self._weights) % self._radix).astype(np.int64)

    def parse(self, arch: ArchLike) -> int:
        """Dense index of ``arch`` given as index, codes, option names or canonical string."""
        if isinstance(arch, (int, np.integer)):
            self._check_index(int(arch))
            return int(arch)
        if isinstance(arch, str):
            return self.index(self.from_string(arch))
        try:
            seq = list(arch)
        except TypeError:
            raise ValueError(
                f"{self.name}: cannot read an architecture from {arch!r}; give an index, codes, "
                f"option names or a string like {self.example_string()!r}"
            ) from None
        if len(seq) != self.n_decisions:
            raise ValueError(f"{self.name}: an architecture has {self.n_decisions} decisions, got {len(seq)}: {arch!r}")
        codes = [self._option_code(i, v) if isinstance(v, str) else int(v) for i, v in enumerate(seq)]
        return self.index(codes)

    def op_names(self, codes: Sequence[int] | np.ndarray) -> tuple[str, ...]:
        return tuple(self.options[i][int(c)] for i, c in enumerate(codes))

    def to_string(self, arch: ArchLike) -> str:
        """Canonical string of ``arch``; the generic form is ``name=option`` joined by commas."""
        codes = self.codes(self.parse(arch))
        return ",".join(f"{d}={o}" for d, o in zip(self.decision_names, self.op_names(codes)))

    def from_string(self, text: str) -> np.ndarray:
        """Option codes from the string written by :meth:`to_string`."""
        parts = text.split(",")
        if len(parts) != self.n_decisions:
            raise ValueError(self._bad_string(text))
        codes = []
        for i, part in enumerate(parts):
            name, sep, option = part.partition("=")
            if not sep or name != self.decision_names[i]:
                raise ValueError(self._bad_string(text))
            codes.append(self._option_code(i, option))
        return np.array(codes, dtype=np.int64)

    # ------------------------------------------------------ validity / form
    def is_valid(self, arch: ArchLike) -> bool:
        """Whether ``arch`` is a real architecture of this space (see :meth:`_valid_mask`)."""
        return bool(self._valid_mask(self.codes(self.parse(arch))[None])[0])

    def canonical_index(self, arch: ArchLike) -> int:
        """Index of the representative of ``arch``'s equivalence class (itself by default)."""
        i = self.parse(arch)
        return i if self._canonical is None else int(self._canonical[i])

    def canonical_map(self) -> np.ndarray:
        """:meth:`canonical_index` of every dense index, ``(size,)`` int64 (tables use it)."""
        if self._canonical is not None:
            return self._canonical.copy()
        if self.big:
            raise ValueError(f"{self.name}: {self.size} indices are too many for a canonical map")
        return np.arange(self.size, dtype=np.int64)

    @property
    def n_functions(self) -> int:
        """Number of distinct valid architectures (classes of equivalent valid indices)."""
        valid = self._valid_mask(self.codes_batch(np.arange(self.size)))
        return len(np.unique(self.canonical_map()[valid]))

    @cached_property
    def _canonical(self) -> np.ndarray | None:
        return self._build_canonical()

    def _build_canonical(self) -> np.ndarray | None:
        """Representative of every dense index, vectorised; None when each index is its own
        class. Spaces with equivalent encodings override this."""
        return None

    # ------------------------------------------------------------- encodings
    def one_hot(self, arch: ArchLike) -> np.ndarray:
        """``(n_decisions, max_options)`` float32 one-hot matrix (the alpha of DARTS / CADAM)."""
        codes = self.codes(self.parse(arch))
        out = np.zeros((self.n_decisions, self.max_options), dtype=np.float32)
        out[np.arange(self.n_decisions), codes] = 1.0
        return out

    def discretise(self, alpha: np.ndarray) -> np.ndarray:
        """Codes from a continuous ``(n_decisions, max_options)`` alpha: argmax of each row.

        This is the thesis's Algorithm 3 (NAS-Bench-201); padded columns never win. A batch
        ``(n, n_decisions, max_options)`` gives ``(n, n_decisions)`` codes.
        """
        a = np.asarray(alpha, dtype=np.float64)
        single = a.ndim < 3
        a = a.reshape(-1, self.n_decisions, self.max_options)
        out = np.where(self.option_mask, a, -np.inf).argmax(axis=-1)
        return out[0] if single else out

    # -------------------------------------------------------- sample / edit
    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Uniform random valid architectures: codes ``(n_decisions,)`` or ``(n, n_decisions)``."""
        m = 1 if n is None else n
        out = np.empty((0, self.n_decisions), dtype=np.int64)
        while len(out) < m:
            cand = (rng.random((m, self.n_decisions)) * self._radix).astype(np.int64)
            ok = self._valid_mask(cand)
            out = np.concatenate([out, cand[ok]])[:m]
        return out[0] if n is None else out

    def neighbours(self, arch: ArchLike) -> np.ndarray:
        """All valid architectures that differ from ``arch`` in exactly one decision."""
        codes = self.codes(self.parse(arch))
        rows = []
        for d in range(self.n_decisions):
            for o in range(int(self._radix[d])):
                if o != codes[d]:
                    c = codes.copy()
                    c[d] = o
                    rows.append(c)
        cand = np.array(rows, dtype=np.int64).reshape(-1, self.n_decisions)
        return cand[self._valid_mask(cand)]

    def mutate(self, arch: ArchLike, rng: np.random.Generator) -> np.ndarray:
        """One uniformly chosen valid neighbour (a one-decision mutation)."""
        nb = self.neighbours(arch)
        return nb[int(rng.integers(len(nb)))]

    def prefix_mask(self, codes: np.ndarray, t: int) -> np.ndarray:
        """``(n, max_options)``: options of decision ``t`` after which the prefix ``codes[:, :t]``
        of each row can still be completed into a valid architecture (the Seq family's mask
        where no table scan gives it). Every real option here; spaces with invalid cells override."""
        return np.broadcast_to(self.option_mask[t], (len(codes), self.max_options)).copy()

    def edit_mask(self, arch: ArchLike) -> np.ndarray:
        """Boolean ``(n_decisions, max_options)``: setting decision d to option o gives another
        valid architecture (a real option, not the current one). The Edit family's action mask."""
        codes = self.codes(self.parse(arch))
        d, o = np.nonzero(self.option_mask)
        cand = np.repeat(codes[None], len(d), axis=0)
        cand[np.arange(len(d)), d] = o
        ok = self._valid_mask(cand) & (codes[d] != o)
        out = np.zeros((self.n_decisions, self.max_options), dtype=bool)
        out[d, o] = ok
        return out

    # --------------------------------------------------------------- helpers
    def _valid_mask(self, codes: np.ndarray) -> np.ndarray:
        """Validity of each row of a codes batch; subclasses with invalid cells override."""
        return np.ones(len(codes), dtype=bool)

    def _option_code(self, decision: int, option: str) -> int:
        try:
            return self.options[decision].index(option)
        except ValueError:
            raise ValueError(
                f"{self.name}: unknown option {option!r} for decision {self.decision_names[decision]!r}; "
                f"valid: {list(self.options[decision])}"
            ) from None

    def _check_index(self, index: int) -> None:
        if not 0 <= int(index) < self.size:
            raise ValueError(f"{self.name}: architecture index {index} out of range [0, {self.size})")

    def example_string(self) -> str:
        """The string of one fixed valid architecture, for error messages."""
        return self.to_string(self.index(self.sample(np.random.default_rng(0))))

    def _check_codes(self, c: np.ndarray) -> None:
        if c.shape != (self.n_decisions,):
            raise ValueError(f"{self.name}: expected {self.n_decisions} option codes, got shape {c.shape}")
        bad = (c < 0) | (c >= self._radix)
        if bad.any():
            d = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{self.name}: option code {int(c[d])} out of range for decision "
                f"{self.decision_names[d]!r} (valid 0..{self._radix[d] - 1}: {list(self.options[d])})"
            )

    def _read_literals(self, pattern: re.Pattern, text: str) -> list:
        """The Python literals captured by ``pattern``'s groups in ``text`` (a string format
        such as ``Arch([...], [...])``); the malformed-string ValueError when it does not fit."""
        m = pattern.match(text)
        try:
            if m is None:
                raise ValueError(text)
            return [ast.literal_eval(g) for g in m.groups()]
        except (ValueError, SyntaxError):
            raise ValueError(self._bad_string(text)) from None

    def _bad_string(self, text: str) -> str:
        return f"{self.name}: malformed architecture string {text!r}; expected e.g. {self.example_string()!r}"

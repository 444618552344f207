"""A search space as a tuple of categorical decisions, with a dense mixed-radix index.

Every space in the suite is this class (or a thin subclass that overrides the string format,
validity, canonical form or discretisation). An architecture is held in one of three forms:
its dense integer *index* (for O(1) table lookups), its *codes* (one option index per
decision, an int array) and its canonical *string*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

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
        # Most significant decision first, so sorting indices sorts codes lexicographically.
        weights = np.ones_like(radix)
        for i in range(len(radix) - 2, -1, -1):
            weights[i] = weights[i + 1] * radix[i + 1]
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
        return int(np.prod(self._radix))

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
        return (int(index) // self._weights) % self._radix

    def indices(self, codes: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`index` over a ``(n, n_decisions)`` array (no range checks)."""
        return np.asarray(codes, dtype=np.int64) @ self._weights

    def codes_batch(self, indices: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`codes`: ``(n,)`` indices to ``(n, n_decisions)`` codes."""
        idx = np.asarray(indices, dtype=np.int64)[:, None]
        return (idx // self._weights) % self._radix

    def parse(self, arch: ArchLike) -> int:
        """Dense index of ``arch`` given as index, codes, option names or canonical string."""
        if isinstance(arch, (int, np.integer)):
            self._check_index(int(arch))
            return int(arch)
        if isinstance(arch, str):
            return self.index(self.from_string(arch))
        seq = list(arch)
        if len(seq) != self.n_decisions:
            raise ValueError(
                f"{self.name}: an architecture has {self.n_decisions} decisions, got {len(seq)}: {arch!r}"
            )
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
        """Whether ``arch`` is a real architecture of this space (all are, by default)."""
        self.parse(arch)
        return True

    def canonical_index(self, arch: ArchLike) -> int:
        """Index of the representative of ``arch``'s equivalence class (itself by default)."""
        return self.parse(arch)

    # ------------------------------------------------------------- encodings
    def one_hot(self, arch: ArchLike) -> np.ndarray:
        """``(n_decisions, max_options)`` float32 one-hot matrix (the alpha of DARTS / CADAM)."""
        codes = self.codes(self.parse(arch))
        out = np.zeros((self.n_decisions, self.max_options), dtype=np.float32)
        out[np.arange(self.n_decisions), codes] = 1.0
        return out

    def discretise(self, alpha: np.ndarray) -> np.ndarray:
        """Codes from a continuous ``(n_decisions, max_options)`` alpha: argmax of each row.

        This is the thesis's Algorithm 3 (NAS-Bench-201); padded columns never win.
        """
        a = np.asarray(alpha, dtype=np.float64).reshape(self.n_decisions, self.max_options)
        return np.where(self.option_mask, a, -np.inf).argmax(axis=1)

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

    def _bad_string(self, text: str) -> str:
        return f"{self.name}: malformed architecture string {text!r}; expected e.g. {self.to_string(0)!r}"

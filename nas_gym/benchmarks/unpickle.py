"""Reading benchmark pickles without running their code or importing their packages.

Benchmark files are pickles of plain containers, numpy scalars and a few classes of the
package that wrote them (AnalogNAS-Bench's ``Architecture``; NAS-Bench-201's torch
containers). :func:`load` resolves only an allow-list of globals: plain containers and
numpy scalars as themselves, named foreign classes as :class:`Fields` (an attribute bag), and,
when asked, torch tensors as ``None`` (benchmark files may carry weights we never use). Any
other global is refused, so a file cannot run code, and the writer's package (which may not
import on current Python, e.g. through ``pkg_resources``) is never imported.
"""

from __future__ import annotations

import collections
import pickle
from collections.abc import Iterable
from typing import Any, Protocol

# numpy moved its private modules in 2.0; pickles name either spelling
_NUMPY = {
    (mod, name) for mod in ("numpy.core.multiarray", "numpy._core.multiarray") for name in ("scalar", "_reconstruct")
} | {("numpy", "dtype"), ("numpy", "ndarray")}
_PLAIN = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "defaultdict"): collections.defaultdict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "list"): list,
    ("builtins", "dict"): dict,
    ("builtins", "int"): int,
    ("builtins", "float"): float,
    ("builtins", "range"): range,
    ("builtins", "slice"): slice,
}


class Fields:
    """Stand-in for a foreign class: keeps the pickled attributes, nothing else (unpickling
    fills ``__dict__`` directly; no method of ours runs per object)."""

    def __repr__(self) -> str:
        return f"Fields({self.__dict__!r})"


def _dropped(*args: Any, **kwargs: Any) -> None:
    """What a tensor (or its storage) becomes: benchmark tables never need weights."""
    return None


class Readable(Protocol):
    """What unpickling reads from: an open binary file, gzip or not."""

    def read(self, n: int, /) -> bytes: ...

    def readline(self) -> bytes: ...


class _Restricted(pickle.Unpickler):
    def __init__(
        self, file: Readable, classes: Iterable[tuple[str, str]], drop_torch: bool, encoding: str = "ASCII"
    ) -> None:
        super().__init__(file, encoding=encoding)
        self._classes = set(classes)
        self._drop_torch = drop_torch

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN:
            return _PLAIN[(module, name)]
        if (module, name) in _NUMPY or (module, name) == ("_codecs", "encode"):
            return super().find_class(module, name)
        if (module, name) in self._classes:
            return type(name, (Fields,), {"__module__": module})
        if self._drop_torch and (module == "torch" or module.startswith("torch.")):
            return _dropped
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a benchmark file")

    def persistent_load(self, pid: Any) -> Any:
        if self._drop_torch:  # torch.save refers to tensor storages by persistent id
            return None
        raise pickle.UnpicklingError("benchmark file refers to external storage")


def load(
    file: Readable, classes: Iterable[tuple[str, str]] = (), drop_torch: bool = False, encoding: str = "ASCII"
) -> Any:
    """Unpickle one object from ``file`` with the allow-list above.

    ``classes``: ``(module, name)`` pairs read as :class:`Fields`; ``drop_torch``: read torch
    tensors and storages as ``None``; ``encoding``: how Python 2 ``str`` objects are read
    (``"latin1"`` or ``"bytes"`` for Python 2 pickles of numpy arrays, as :mod:`pickle` takes it).
    """
    return _Restricted(file, classes, drop_torch, encoding).load()

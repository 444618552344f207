"""Search spaces: categorical decisions, dense indices, strings, canonical forms, encodings."""

from .base import ArchLike, Space
from .nb201 import NB201_OPS, NB201Space

__all__ = ["ArchLike", "Space", "NB201Space", "NB201_OPS"]

"""Search spaces: categorical decisions, dense indices, strings, canonical forms, encodings."""

from .base import ArchLike, Space
from .darts import DARTS_OPS, DartsSpace
from .graph import GNN_OPS, PROTEINS_OPS, GraphSpace
from .macro import MACRO_OPS, MacroSpace
from .nb201 import NB201_OPS, NB201Space

__all__ = [
    "ArchLike",
    "Space",
    "NB201Space",
    "NB201_OPS",
    "GraphSpace",
    "GNN_OPS",
    "PROTEINS_OPS",
    "MacroSpace",
    "MACRO_OPS",
    "DartsSpace",
    "DARTS_OPS",
]

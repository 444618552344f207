"""The common comparison loop: a grid of agents x seeds, results files, summary and plots."""

from .runner import RunSpec, run_grid, run_one
from .summary import summarise

__all__ = ["RunSpec", "run_grid", "run_one", "summarise"]

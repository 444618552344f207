"""nas-gym: neural architecture search as Gymnasium environments."""

from .benchmarks import load_benchmark

__version__ = "0.1.0"

__all__ = ["load_benchmark", "__version__"]

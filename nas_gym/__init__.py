"""nas-gym: neural architecture search as Gymnasium environments."""

from .benchmarks import load_benchmark
from .envs.registration import env_ids, env_status, register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["load_benchmark", "env_ids", "env_status", "__version__"]

"""Registration of the NasGym ids with Gymnasium (on ``import nas_gym``, at most once).

``NasGym/<Benchmark>-<Family>-v0`` for every benchmark below that this installation can name,
tables and supernets. ``gym.make`` returns the family's env inside the :class:`SearchLog`
wrapper; ``gym.make_vec`` returns the numpy-batched vector env where the family has one (Seq,
Cont) over a table. Supernet ids are registered ``nondeterministic`` (train mode changes the
weights with every query).

The SearchLog is applied by the entry point rather than declared as the spec's
``additional_wrappers``: Gymnasium 1.4's ``make_vec`` refuses a ``vector_entry_point`` on any
spec that declares additional wrappers, and the ids need both.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import gymnasium as gym

from ..benchmarks import benchmark_names
from ..supernets import SUPERNETS
from .cont import ContEnv
from .core import check_env_keywords
from .edit import EditEnv
from .search_log import SearchLog
from .seq import SeqEnv

# id prefix -> benchmark name given to the env (ids appear once the benchmark is installed)
BENCHMARKS = {
    "NB201": "nb201", "Graph": "nas-bench-graph", "Macro": "nas-bench-macro", "AnalogNB201": "analog-nb201",
    "NB201Supernet": "nb201-supernet", "DARTSSupernet": "darts-supernet",
}
# family -> (entry point, vector entry point or None)
FAMILIES = {
    "Seq": ("nas_gym.envs.registration:make_seq", "nas_gym.envs.vector:SeqVectorEnv"),
    "Cont": ("nas_gym.envs.registration:make_cont", "nas_gym.envs.vector:ContVectorEnv"),
    "Edit": ("nas_gym.envs.registration:make_edit", None),
}


# the keywords gym.make hands to the SearchLog wrapper rather than to the env (oracle_info)
LOG_KWARGS = tuple(name for name in inspect.signature(SearchLog).parameters if name != "env")


def _logged(cls: type[gym.Env]) -> Callable[..., gym.Env]:
    """Entry point building ``cls(**kwargs)`` inside a :class:`SearchLog`."""

    def make(**kwargs: Any) -> gym.Env:
        check_env_keywords(cls, kwargs, also=LOG_KWARGS)
        log_kwargs = {name: kwargs.pop(name) for name in LOG_KWARGS if name in kwargs}
        return SearchLog(cls(**kwargs), **log_kwargs)

    make.metadata = cls.metadata  # gym.make reads the render modes from the entry point
    make.__doc__ = f"{cls.__name__} inside the SearchLog wrapper."
    return make


make_seq = _logged(SeqEnv)
make_cont = _logged(ContEnv)
make_edit = _logged(EditEnv)


def registered_benchmarks() -> dict[str, str]:
    """The id prefixes whose benchmark this installation has."""
    names = set(benchmark_names()) | set(SUPERNETS)
    return {prefix: bench for prefix, bench in BENCHMARKS.items() if bench in names}


def env_ids() -> list[str]:
    return [f"NasGym/{b}-{f}-v0" for b in registered_benchmarks() for f in FAMILIES]


def register_envs() -> None:
    for prefix, bench in registered_benchmarks().items():
        for family, (entry, vector_entry) in FAMILIES.items():
            env_id = f"NasGym/{prefix}-{family}-v0"
            if env_id in gym.registry:
                continue
            supernet = bench in SUPERNETS  # no batched queries; train mode changes weights per query
            gym.register(
                id=env_id,
                entry_point=entry,
                vector_entry_point=None if supernet else vector_entry,
                kwargs={"benchmark": bench},
                nondeterministic=supernet,
            )
    # one episode = one few-shot task (LAMANAS, MetaNAS); its own shape, see envs/fewshot.py
    if "NasGym/FewShot-v0" not in gym.registry:
        gym.register(id="NasGym/FewShot-v0", entry_point="nas_gym.envs.fewshot:FewShotEnv")

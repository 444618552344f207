"""Registration of the NasGym ids with Gymnasium (on ``import nas_gym``, at most once).

``NasGym/<Benchmark>-<Family>-v0`` for every benchmark below, tables and supernets, and
``NasGym/FewShot-v0``. ``gym.make`` returns the family's env inside the :class:`SearchLog`
wrapper (and, with ``dict_obs``, inside :class:`~.mask_obs.MaskInObservation`);
``gym.make_vec`` returns the numpy-batched vector env where the family has one (Seq, Cont) over
a table. Supernet ids are registered ``nondeterministic`` (train mode changes the weights with
every query). Seq episodes (one step per decision of the space) and FewShot episodes (one step)
have a fixed length, which their specs' ``max_episode_steps`` give; Cont and Edit episodes last
``budget`` steps, a keyword, so their specs leave it None (a spec's limit would truncate a
larger budget).

Every id is registered whether or not its data or its optional dependencies are installed:
making one that lacks them fails with the instruction to get them, and :func:`env_status`
says which ids are ready.

The SearchLog is applied by the entry point rather than declared as the spec's
``additional_wrappers``: Gymnasium 1.4's ``make_vec`` refuses a ``vector_entry_point`` on any
spec that declares additional wrappers, and the ids need both.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from ..benchmarks import missing_data
from ..optional import missing_extra, require_extra
from ..spaces import DartsSpace, GraphSpace, MacroSpace, NB201Space, Space
from ..supernets import SUPERNETS, missing_supernet_data
from .cont import ContEnv
from .core import RenderModes, check_env_keywords
from .edit import EditEnv
from .mask_obs import MaskInObservation, dict_obs_keys
from .search_log import SearchLog
from .seq import SeqEnv

# id prefix -> benchmark name given to the env
BENCHMARKS = {
    "NB201": "nb201",
    "Graph": "nas-bench-graph",
    "Macro": "nas-bench-macro",
    "AnalogNB201": "analog-nb201",
    "NB201Supernet": "nb201-supernet",
    "DARTSSupernet": "darts-supernet",
}
# benchmark name -> its search space (a Seq episode takes one step per decision)
SPACES: dict[str, Callable[[], Space]] = {
    "nb201": NB201Space,
    "nas-bench-graph": GraphSpace,
    "nas-bench-macro": MacroSpace,
    "analog-nb201": NB201Space,
    "nb201-supernet": NB201Space,
    "darts-supernet": DartsSpace,
}
# family -> (entry point, vector entry point or None)
FAMILIES = {
    "Seq": ("nas_gym.envs.registration:make_seq", "nas_gym.envs.vector:SeqVectorEnv"),
    "Cont": ("nas_gym.envs.registration:make_cont", "nas_gym.envs.vector:ContVectorEnv"),
    "Edit": ("nas_gym.envs.registration:make_edit", None),
}
FEWSHOT_ID = "NasGym/FewShot-v0"


# the keywords gym.make hands to the SearchLog wrapper rather than to the env (oracle_info, info_strings)
LOG_KWARGS = tuple(name for name in inspect.signature(SearchLog).parameters if name != "env")


def _logged(cls: type[gym.Env], masked: bool) -> Callable[..., gym.Env]:
    """Entry point building ``cls(**kwargs)`` inside a :class:`SearchLog` (and, for the masked
    families, inside :class:`MaskInObservation` when ``dict_obs`` asks for it)."""
    also = LOG_KWARGS + (("dict_obs",) if masked else ())

    def make(**kwargs: Any) -> gym.Env:
        check_env_keywords(cls, kwargs, also=also)
        keys = dict_obs_keys(kwargs.pop("dict_obs", False))
        log_kwargs = {name: kwargs.pop(name) for name in LOG_KWARGS if name in kwargs}
        env = SearchLog(cls(**kwargs), **log_kwargs)
        return env if keys is None else MaskInObservation(env, keys)

    make.metadata = cls.metadata  # type: ignore[attr-defined]  # gym.make reads the render modes from the entry point
    make.__doc__ = f"{cls.__name__} inside the SearchLog wrapper."
    return make


make_seq = _logged(SeqEnv, masked=True)
make_cont = _logged(ContEnv, masked=False)
make_edit = _logged(EditEnv, masked=True)


def make_fewshot(**kwargs: Any) -> gym.Env:
    """:class:`~.fewshot.FewShotEnv` (imported here, so that a missing torch gets the pip command)."""
    require_extra("torch", FEWSHOT_ID)
    from .fewshot import FewShotEnv

    return FewShotEnv(**kwargs)


make_fewshot.metadata = {"render_modes": RenderModes()}  # type: ignore[attr-defined]  # FewShotEnv's: no render modes


def env_status() -> dict[str, str]:
    """Every NasGym id and whether ``gym.make(id)`` finds what it needs here: ``"ready"``, or
    why not and how to get it (the download of a benchmark's file, an extra to install).

    Looks for files and packages without reading or importing them. A benchmark read from a
    user file (Macro) is ready once ``$NAS_GYM_MACRO_PATH`` names it; ``path=`` works either way.
    """
    out = {}
    for prefix, bench in BENCHMARKS.items():
        reason = missing_supernet_data(bench) if bench in SUPERNETS else missing_data(bench)
        for family in FAMILIES:
            out[f"NasGym/{prefix}-{family}-v0"] = reason or "ready"
    out[FEWSHOT_ID] = missing_extra("torch") or "ready"
    return out


def env_ids(ready_only: bool = False) -> list[str]:
    """The NasGym ids (every benchmark x family, then FewShot); ``ready_only``: those
    :func:`env_status` finds ready."""
    return [env_id for env_id, status in env_status().items() if not ready_only or status == "ready"]


def register_envs() -> None:
    for prefix, bench in BENCHMARKS.items():
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
                max_episode_steps=SPACES[bench]().n_decisions if family == "Seq" else None,
            )
    # one episode = one few-shot task (LAMANAS, MetaNAS); its own shape, see envs/fewshot.py
    if FEWSHOT_ID not in gym.registry:
        gym.register(id=FEWSHOT_ID, entry_point="nas_gym.envs.registration:make_fewshot", max_episode_steps=1)

"""Registration of the NasGym ids with Gymnasium (on ``import nas_gym``, at most once)."""

from __future__ import annotations

import gymnasium as gym
from gymnasium.envs.registration import WrapperSpec

FAMILIES = {"Seq": "nas_gym.envs.seq:SeqEnv", "Cont": "nas_gym.envs.cont:ContEnv", "Edit": "nas_gym.envs.edit:EditEnv"}
# id prefix -> benchmark name given to the env
BENCHMARKS = {"NB201": "nb201"}
SEARCH_LOG = WrapperSpec("SearchLog", "nas_gym.envs.search_log:SearchLog", {})


def env_ids() -> list[str]:
    return [f"NasGym/{b}-{f}-v0" for b in BENCHMARKS for f in FAMILIES]


def register_envs() -> None:
    for prefix, bench in BENCHMARKS.items():
        for family, entry in FAMILIES.items():
            env_id = f"NasGym/{prefix}-{family}-v0"
            if env_id in gym.registry:
                continue
            gym.register(
                id=env_id,
                entry_point=entry,
                kwargs={"benchmark": bench},
                nondeterministic=False,
                additional_wrappers=(SEARCH_LOG,),
            )

"""The three env families (Seq, Cont, Edit), their rewards, search log, masks in observations,
vector envs and registration."""

from .cont import ContEnv
from .edit import EditEnv
from .mask_obs import MaskInObservation
from .registration import env_ids, env_status, register_envs
from .rewards import REWARDS, Reward, make_reward
from .search_log import QueryLog, SearchLog
from .seq import SeqEnv
from .vector import ContVectorEnv, SeqVectorEnv

__all__ = [
    "SeqEnv",
    "ContEnv",
    "EditEnv",
    "SeqVectorEnv",
    "ContVectorEnv",
    "SearchLog",
    "QueryLog",
    "MaskInObservation",
    "REWARDS",
    "Reward",
    "make_reward",
    "env_ids",
    "env_status",
    "register_envs",
]

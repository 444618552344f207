"""The three env families (Seq, Cont, Edit), their rewards, search log and registration."""

from .cont import ContEnv
from .edit import EditEnv
from .registration import env_ids, register_envs
from .rewards import REWARDS, make_reward
from .search_log import QueryLog, SearchLog
from .seq import SeqEnv

__all__ = ["SeqEnv", "ContEnv", "EditEnv", "SearchLog", "QueryLog", "REWARDS", "make_reward", "env_ids", "register_envs"]

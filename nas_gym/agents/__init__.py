"""Agents behind one protocol: ``nas_gym.agents.make(name).search(env, budget, seed)``."""

# Importing a module registers its agents; one line per module, alphabetical. Modules that
# import torch, scipy or optuna are named here and imported when one of their agents is made.
from . import (
    evolution,  # noqa: F401
    local_search,  # noqa: F401
    random_search,  # noqa: F401
)
from .base import Agent, Budget, SearchResult, agent_names, make, register_lazy, search_log

register_lazy("advantage", "advantagenas", "advantagenas-reinforce")
register_lazy("bo", "bo")
register_lazy("cadam", "cadam")
register_lazy("ddpg", "ddpg")
register_lazy(
    "oneshot",
    "darts",
    "lnas",
    "snas",
    "gdas",
    "enas",
    "rsps",
    "proxyless",
    "parsec",
    "advantagenas-supernet",
    "reinforce-supernet",
)
register_lazy("ppo", "ppo")
register_lazy("qlearning", "qlearning")
register_lazy("reinforce", "reinforce", "reinforce-cat")
register_lazy("tpe", "tpe")

__all__ = ["Agent", "Budget", "SearchResult", "agent_names", "make", "search_log"]

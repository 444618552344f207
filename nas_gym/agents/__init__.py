"""Agents behind one protocol: ``nas_gym.agents.make(name).search(env, budget, seed)``."""

from . import random_search  # noqa: F401  (registers)
from .base import Agent, Budget, SearchResult, agent_names, make, search_log

__all__ = ["Agent", "Budget", "SearchResult", "agent_names", "make", "search_log"]

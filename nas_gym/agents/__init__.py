"""Agents behind one protocol: ``nas_gym.agents.make(name).search(env, budget, seed)``."""

# Importing a module registers its agents; one line per module, alphabetical.
from . import advantage  # noqa: F401
from . import bo  # noqa: F401
from . import cadam  # noqa: F401
from . import ddpg  # noqa: F401
from . import evolution  # noqa: F401
from . import local_search  # noqa: F401
from . import oneshot  # noqa: F401
from . import ppo  # noqa: F401
from . import qlearning  # noqa: F401
from . import random_search  # noqa: F401
from . import reinforce  # noqa: F401
from . import tpe  # noqa: F401
from .base import Agent, Budget, SearchResult, agent_names, make, search_log

__all__ = ["Agent", "Budget", "SearchResult", "agent_names", "make", "search_log"]

"""The agent protocol: ``search(env, budget, seed) -> SearchResult``, and the agent registry.

Every agent, RL or not, acts through a registered env made by ``gym.make`` (so it carries the
:class:`~nas_gym.envs.search_log.SearchLog` wrapper). The wrapper's log is the single record of
what a search queried; the budget is checked against it, and the result is read from it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from ..envs.checks import whole_number
from ..envs.search_log import QueryLog, SearchLog
from ..optional import extra_of, require_extra
from ..spaces.base import Space

FAMILIES = ("Seq", "Cont", "Edit")


@dataclass(frozen=True)
class Budget:
    """A search budget in queries, simulated seconds or epochs of supernet training (whichever runs out first).

    Epochs count passes over the supernet's weight-training half; only agents that train the
    supernet's weights themselves (the one-shot agents) can spend them.
    """

    queries: int | None = None
    seconds: float | None = None
    epochs: float | None = None

    def __post_init__(self) -> None:
        if self.queries is None and self.seconds is None and self.epochs is None:
            raise ValueError("a Budget needs queries, seconds or epochs")
        if self.queries is not None:
            whole_number("budget queries", self.queries, meaning="e.g. 500")
        # A search runs until the budget is spent: an infinite or NaN one would never end.
        for name, value, example in (("seconds", self.seconds, "36000s"), ("epochs", self.epochs, "50ep")):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0
            ):
                raise ValueError(f"budget {name} must be a finite number > 0 (e.g. {example}), got {value!r}")

    def done(self, log: QueryLog, epochs: float | None = None) -> bool:
        """Whether the search is over after ``log`` and ``epochs`` of weight training (None: the
        caller trains no weights, and an epochs-only budget cannot end, so it is refused)."""
        if epochs is None and self.epochs is not None and self.queries is None and self.seconds is None:
            raise ValueError(
                f"a budget of epochs alone ({self.epochs:g}ep) needs an agent that trains supernet weights (a one-shot "
                f"agent); add queries or seconds, e.g. '{self.epochs:g}ep+30': whichever runs out first"
            )
        return (
            (self.queries is not None and len(log) >= self.queries)
            or (self.seconds is not None and log.sim_time_s >= self.seconds)
            or (self.epochs is not None and epochs is not None and epochs >= self.epochs)
        )

    @classmethod
    def parse(cls, value: Budget | int | float | str) -> Budget:
        """``500`` or ``"500"`` -> 500 queries; ``"36000s"`` -> simulated seconds; ``"50ep"`` ->
        epochs of supernet training; several joined by ``+`` (``"2ep+30"``): whichever runs out
        first; a Budget as is."""
        if isinstance(value, Budget):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return cls(queries=int(value))
        text = str(value).strip()
        usage = (
            "use a number of queries (500), simulated seconds (36000s) or epochs (50ep), or several joined by "
            "'+' (2ep+30: whichever runs out first)"
        )
        try:
            limits = [
                ("epochs", float(p[:-2]))
                if p.endswith("ep")
                else ("seconds", float(p[:-1]))
                if p.endswith("s")
                else ("queries", int(p))
                for p in (part.strip() for part in text.split("+"))
            ]
        except ValueError:
            raise ValueError(f"bad budget {value!r}; {usage}") from None
        units = [unit for unit, _ in limits]
        twice = sorted({unit for unit in units if units.count(unit) > 1})
        if twice:
            raise ValueError(f"bad budget {value!r}: {' and '.join(twice)} given more than once; {usage}")
        try:
            kwargs: dict[str, Any] = dict(limits)  # queries an int, seconds and epochs floats
            return cls(**kwargs)
        except ValueError as e:
            raise ValueError(f"bad budget {value!r} ({e}); {usage}") from None


def check_budget_units(agent: Any, budget: Budget) -> None:
    """ValueError naming ``agent`` and the fix when it cannot spend ``budget``.

    Only agents that train supernet weights themselves (``trains_weights``: the one-shot agents)
    count epochs; for any other agent a budget of epochs alone never ends. ``Nep+M`` (or
    ``Nep+Ts``) ends every search at whichever limit it reaches first.
    """
    if budget.epochs is None or budget.queries is not None or budget.seconds is not None:
        return
    if getattr(agent, "trains_weights", False):
        return
    text = f"{budget.epochs:g}ep"
    raise ValueError(
        f"agent {agent.name!r} cannot spend a budget of epochs alone ({text!r}): only agents that train the "
        f"supernet's weights (the one-shot agents) count epochs, so its search would never end; add a limit it "
        f"reaches, e.g. '{text}+30' (30 queries) or '{text}+3600s' (simulated seconds): each search then ends "
        "at whichever limit comes first"
    )


@dataclass
class SearchResult:
    """Every query of one search in order, and the architectures it returns.

    ``best_index`` ("process best") is the architecture with the best mean of the validation
    values the search observed for it (repeated queries of one architecture are averaged), never
    a test metric; ``best_observed`` is that observed mean. (The results files' ``best_val`` is
    another number: the seed mean of the returned architecture, see
    :mod:`nas_gym.experiments.evaluation`.) ``recommended_index`` is the one a policy-based or
    one-shot agent recommends (the argmax of its architecture distribution), None for agents that
    recommend nothing; ``reports`` says which of the two the agent's paper reports (``process``
    or ``argmax``).
    """

    agent: str
    seed: int
    arch_index: np.ndarray
    val: np.ndarray
    cost_s: np.ndarray
    best_index: int
    best_observed: float
    meta: dict[str, Any] = field(default_factory=dict)
    recommended_index: int | None = None
    reports: str = "process"

    @property
    def n_queries(self) -> int:
        return int(len(self.val))

    @property
    def sim_time_s(self) -> float:
        return float(np.sum(self.cost_s))

    @classmethod
    def from_log(
        cls,
        agent: str,
        seed: int,
        log: QueryLog,
        budget: Budget | None = None,
        *,
        recommended_index: int | None = None,
        reports: str = "process",
        **meta: Any,
    ) -> SearchResult:
        """Result of the queries in ``log``, cut at the query that exhausted ``budget``."""
        if reports not in ("process", "argmax"):
            raise ValueError(f"reports must be 'process' or 'argmax', got {reports!r}")
        idx = np.array(log.arch_index)  # int64, or Python ints where a space's indices exceed int64 (DARTS)
        # copies, not views: a view of the log's arrays would stop it from growing while the result lives
        val = np.array(log.val, dtype=np.float64)
        cost = np.array(log.cost_s, dtype=np.float64)
        if budget is not None:
            n = len(idx)
            if budget.queries is not None:
                n = min(n, budget.queries)
            if budget.seconds is not None:
                over = np.flatnonzero(np.cumsum(cost) >= budget.seconds)
                n = min(n, int(over[0]) + 1 if len(over) else n)
            idx, val, cost = idx[:n], val[:n], cost[:n]
        if len(idx) == 0:
            raise ValueError(f"agent {agent!r} made no query")
        uniq, inv = np.unique(idx, return_inverse=True)
        means = np.bincount(inv, weights=val) / np.bincount(inv)
        b = int(np.argmax(means))
        rec = None if recommended_index is None else int(recommended_index)
        return cls(agent, seed, idx, val, cost, int(uniq[b]), float(means[b]), dict(meta), rec, reports)


def _search_log_wrapper(env: gym.Env) -> SearchLog:
    e = env
    while isinstance(e, gym.Wrapper):
        if isinstance(e, SearchLog):
            return e
        e = e.env
    raise ValueError("the env has no SearchLog wrapper: make it with gym.make('NasGym/...')")


def search_log(env: gym.Env) -> QueryLog:
    """The query log of the SearchLog wrapper around ``env`` (ValueError when there is none)."""
    return _search_log_wrapper(env).log


def new_search(agent: Agent, env: gym.Env) -> QueryLog:
    """Start a search of ``agent`` on ``env``: check the family, empty the log, return it.

    Emptying matters when one env serves several searches: the budget is counted on this log.
    """
    check_family(agent, env)
    wrapper = _search_log_wrapper(env)
    wrapper.clear()
    return wrapper.log


@runtime_checkable
class Agent(Protocol):
    """A search strategy. ``families`` lists the env families (Seq, Cont, Edit) it can drive; an
    agent that needs more of an env (AdvantageNAS: a zero op on every decision) also has
    ``check_env(env)``, raising ValueError, which :func:`check_family` calls."""

    # read-only properties: a class attribute or an instance's attribute (SB3Agent's) satisfies them
    @property
    def name(self) -> str: ...

    @property
    def families(self) -> tuple[str, ...]: ...

    def search(self, env: gym.Env, budget: Budget, seed: int) -> SearchResult: ...


_REGISTRY: dict[str, Callable[..., Agent]] = {}


def register(name: str) -> Callable[[Callable[..., Agent]], Callable[..., Agent]]:
    """Class decorator adding an agent factory to the registry under ``name``."""

    def deco(factory: Callable[..., Agent]) -> Callable[..., Agent]:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"agent {name!r} registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


# Agents whose modules import torch or other heavy libraries are known by name and module and
# imported on first use: a worker process that runs only cheap baselines never pays ~3 CPU-s
# and ~280 MiB for importing torch.
_LAZY: dict[str, str] = {}


def register_lazy(module: str, *names: str) -> None:
    """Name the agents that importing ``nas_gym.agents.<module>`` registers, without importing it."""
    for name in names:
        _LAZY[name] = module


def agent_factory(name: str) -> Callable[..., Agent]:
    """The registered factory of agent ``name`` (importing its module on first use)."""
    if name not in _REGISTRY and name in _LAZY:
        try:
            import_module(f"{__package__}.{_LAZY[name]}")
        except ModuleNotFoundError as e:
            extra = extra_of(e.name)
            if extra is None:
                raise
            require_extra(extra, f"agent {name!r}")
            raise
    if name not in _REGISTRY:
        raise ValueError(f"unknown agent {name!r}; valid: {agent_names() + ['sb3:<ALGO>']}")
    return _REGISTRY[name]


def agent_names() -> list[str]:
    return sorted(set(_REGISTRY) | set(_LAZY))


def make(name: str, **kwargs: Any) -> Agent:
    """The agent called ``name`` built with ``kwargs`` (``sb3:ALGO`` for Stable-Baselines3)."""
    if name.startswith("sb3:"):
        require_extra("rl", f"agent {name!r}")
        from .sb3 import SB3Agent

        return SB3Agent(algo=name[4:], **kwargs)
    return agent_factory(name)(**kwargs)


def check_family(agent: Agent, env: gym.Env) -> str:
    """The family of ``env``; ValueError when ``agent`` cannot drive it, by family or by the
    agent's own ``check_env(env)`` where it has one (what its method needs of the space or
    backend). ``nas-gym compare`` calls this for every agent and env before any run."""
    family = type(env.unwrapped).__name__.removesuffix("Env")
    if family not in agent.families:
        raise ValueError(f"agent {agent.name!r} drives {list(agent.families)} envs, not {family!r}")
    check = getattr(agent, "check_env", None)
    if check is not None:
        check(env)
    return family


# A whole-architecture strategy: a generator that yields option codes and is sent back the reward
# of each (the env's named reward, so constrained rewards steer the search too).
Proposer = Generator[np.ndarray, float, None]


def search_codes(
    agent: Agent, env: gym.Env, budget: Budget, seed: int, propose: Callable[[Space, np.random.Generator], Proposer]
) -> SearchResult:
    """Run ``propose(space, rng)`` through a Cont env until ``budget`` is spent.

    The loop every whole-architecture baseline shares: each proposal is submitted as the action
    ``encode(codes)``, and the env's ``np_random`` (seeded by ``reset(seed=seed)``) is the one RNG
    of the search, so one seed drives both the strategy and the table's noise. An episode that
    ends before the budget is spent (the Cont env's own ``budget``) is reset and the search goes on.
    """
    log = new_search(agent, env)
    base: Any = env.unwrapped
    env.reset(seed=seed)
    proposals = propose(base.space, base.np_random)
    try:
        codes = next(proposals)
        while not budget.done(log):
            _, reward, terminated, truncated, _ = env.step(base.encode(codes))
            if terminated or truncated:
                env.reset()
            if budget.done(log):
                break
            codes = proposals.send(float(reward))
    except StopIteration:  # the strategy has nothing left to propose (a tiny space fully explored)
        pass
    finally:
        proposals.close()
    return SearchResult.from_log(agent.name, seed, log, budget)

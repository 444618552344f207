"""Checks of an agent's keyword arguments before any search runs (``nas-gym compare`` and ``run_grid``).

An agent is a dataclass (or a class with an ``__init__``) whose fields are its settings: an
unknown key is listed with the valid ones, and a value of the wrong type is named with the type
the field declares, so a typo in a grid fails at once rather than in every one of its runs.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from .base import agent_factory


def agent_settings(name: str) -> dict[str, Any]:
    """Setting name -> declared type of agent ``name`` (``Any`` where none is declared)."""
    if name.startswith("sb3:"):
        from .sb3 import ALGOS, SB3Agent

        algo = name[4:]
        if algo not in ALGOS:
            raise ValueError(f"unknown SB3 algorithm {algo!r}; valid: {sorted(ALGOS)}")
        own = _init_params(SB3Agent.__init__, skip={"algo"})
        # the adapter sets the env, the seed and the verbosity of the model itself
        model = _init_params(SB3Agent(algo).model_class().__init__, skip={"policy", "env", "seed", "verbose"})
        return {**model, **own}
    factory = agent_factory(name)
    if dataclasses.is_dataclass(factory):
        hints = typing.get_type_hints(factory)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(factory) if f.init}
    return _init_params(factory.__init__, skip=set()) if "__init__" in vars(factory) else {}


def _init_params(init: Callable[..., Any], skip: set[str]) -> dict[str, Any]:
    """Public parameters of ``init`` with their types; where annotations cannot be resolved (names
    imported only for type checkers), a plain int, float or bool default stands for the type."""
    try:
        hints = typing.get_type_hints(init)
    except Exception:
        hints = {}
    out = {}
    for p in inspect.signature(init).parameters.values():
        if p.name == "self" or p.name in skip or p.name.startswith("_"):
            continue
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        guess = type(p.default) if type(p.default) in (int, float, bool) else Any
        out[p.name] = hints.get(p.name, Any if hints else guess)
    return out


def check_agent_kwargs(name: str, kwargs: dict[str, Any]) -> None:
    """ValueError naming every unknown key (with the valid ones) or badly typed value of agent ``name``."""
    settings = agent_settings(name)
    unknown = sorted(set(kwargs) - set(settings))
    if unknown:
        raise ValueError(f"agent {name!r}: unknown setting(s) {unknown}; valid: {sorted(settings)}")
    for key, value in kwargs.items():
        if not _fits(value, settings[key]):
            raise ValueError(f"agent {name!r}: {key}={value!r} is a {type(value).__name__}, not {_show(settings[key])}")


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the declared type (loosely: ints are floats, lists are tuples)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple or hint is tuple:
        if not isinstance(value, (tuple, list)):
            return False
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return not args or (len(args) == len(value) and all(_fits(v, a) for v, a in zip(value, args)))
    return True  # a type this check does not model: the agent's own checks decide


def _show(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")

"""What the env families share: the search problem (backend, noise, reward) and the base env.

A backend is anything with ``space``, ``query(index, rng=, noise=) -> Record`` and, when the
best architecture is known, ``optimum() -> (index, val)``: the tabular benchmarks and the
supernets; ``query_batch(indices, rng, noise) -> (val, cost_s)`` (tables only) serves the
vector envs.
The env owns the backend and queries it with its own ``np_random``, so a seeded reset makes an
episode reproducible.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import gymnasium as gym
import numpy as np

from ..benchmarks import FIDELITY_SOURCES, NOISES, TabularBenchmark, load_benchmark
from ..benchmarks.table import Record
from ..spaces.base import Space
from ..supernets import SUPERNET_KWARGS, SUPERNETS, is_supernet, load_supernet
from .reach import Reach, index_steps
from .rewards import Reward, make_reward

RENDER_MODES = ("ansi", "rgb_array")


@cache
def _cached_benchmark(
    name: str, dataset: str | None, path: str | None, fidelity: int | None = None
) -> TabularBenchmark:
    if fidelity is not None:  # the full table is cached once and serves every fidelity
        return _cached_benchmark(name, dataset, path).at_fidelity(fidelity)
    return load_benchmark(name, dataset=dataset, path=path)


def resolve_backend(
    benchmark: Any,
    dataset: str | None = None,
    path: str | None = None,
    fidelity: int | None = None,
    **backend_kwargs: Any,
) -> Any:
    """A backend object from a benchmark name (tables loaded once per process, at ``fidelity``
    epochs when given; supernets built from ``backend_kwargs``) or the object itself."""
    if fidelity is not None and (not isinstance(benchmark, str) or is_supernet(benchmark)):
        raise ValueError(
            f"fidelity={fidelity!r} applies to benchmark tables given by name, not {benchmark!r}; {FIDELITY_SOURCES}"
        )
    if is_supernet(benchmark):
        return load_supernet(benchmark, dataset=dataset, path=path, **backend_kwargs)
    if backend_kwargs:
        raise ValueError(
            f"{sorted(backend_kwargs)} only apply to supernet benchmarks ({list(SUPERNETS)}), not {benchmark!r}"
        )
    if isinstance(benchmark, str):
        if isinstance(fidelity, (bool, float)) or (
            fidelity is not None and not isinstance(fidelity, (int, np.integer))
        ):
            raise ValueError(f"fidelity must be a whole number of epochs (e.g. 12) or None, got {fidelity!r}")
        return _cached_benchmark(
            benchmark, dataset, None if path is None else str(path), None if fidelity is None else int(fidelity)
        )
    if not hasattr(benchmark, "query") or not hasattr(benchmark, "space"):
        raise ValueError(f"benchmark must be a name or an object with .space and .query(), got {benchmark!r}")
    return benchmark


@lru_cache(maxsize=1 << 16)
def arch_string(space: Space, index: int) -> str:
    """Canonical string of the architecture at ``index`` (cached: it is asked for every query)."""
    return space.to_string(index)


def unanswered_string(space: Space, index: int) -> str:
    """The string of an architecture the backend has no result for: its canonical string, or,
    where the space has none for it (an invalid DARTS cell), the generic ``decision=option`` form."""
    try:
        return arch_string(space, index)
    except ValueError:
        return Space.to_string(space, index)


def info_index(space: Space, index: int) -> int | str:
    """``index`` as ``info`` reports it: the int, or its decimal string in spaces whose indices
    exceed int64 (DARTS), which no int64 array could hold when a vector env stacks the infos;
    ``int(info["arch_index"])`` gives the index back."""
    return str(index) if space.big else index


@dataclass(frozen=True, eq=False)
class Problem:
    """One search problem: the backend (and its space), the training-seed noise and the reward.

    An architecture the backend has no result for (see :mod:`.reach`) is not queried; it earns
    ``no_result_reward``, the reward of 0% validation, as a training run that failed would.
    """

    backend: Any
    noise: str
    reward: Reward
    optimum: float | None
    reach: Reach
    # Python-int weights of the dense index (None for spaces whose indices exceed int64): one
    # architecture's index as a Python sum is faster than numpy's matmul of a few ints
    _steps: list[int] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        steps = None if self.backend.space.big else index_steps(self.backend.space).tolist()
        object.__setattr__(self, "_steps", steps)

    @property
    def space(self) -> Space:
        return self.backend.space

    @property
    def no_result_reward(self) -> float:
        return float(self.reward.formula(0.0, np.nan, np.nan))

    def index(self, codes: np.ndarray) -> int:
        """Dense index of the architecture with option codes ``codes`` (an int array)."""
        if self._steps is None:
            return self.space.index(codes)
        return sum(map(operator.mul, codes.tolist(), self._steps))

    def query(
        self, codes: np.ndarray, rng: np.random.Generator, previous: Record | None = None
    ) -> tuple[Record | None, float]:
        """The record of architecture ``codes`` (one simulated training run, None when the
        backend has no result for it) and its reward (``previous``: the query before it, for
        rewards that compare with it)."""
        return self.query_index(self.index(codes), rng, previous)

    def query_index(
        self, index: int, rng: np.random.Generator, previous: Record | None = None
    ) -> tuple[Record | None, float]:
        """:meth:`query` of the architecture at dense ``index``."""
        if not self.reach.answerable(index):
            return None, self.no_result_reward
        rec = self.backend.query(index, rng=rng, noise=self.noise)
        return rec, self.reward(rec, previous)

    def query_batch(self, idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrays ``(val, cost_s, reward)`` for a batch of dense indices (NaN val: no result)."""
        val, cost = self.backend.query_batch(idx, rng, self.noise)
        answered = ~np.isnan(val)
        if not self.reward.uses_costs:
            reward = self.reward.batch(val)
        else:  # query_batch returns no costs: read them one by one (only the constrained reward pays this)
            params, latency = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
            for k in np.flatnonzero(answered):
                rec = self.backend.query(int(idx[k]), noise="mean")
                params[k], latency[k] = rec.params, rec.latency
            reward = self.reward.batch(val, params, latency)
        return val, cost, np.where(answered, reward, self.no_result_reward)

    def mean_val(self, index: int) -> float:
        """Seed-mean validation metric of ``index``: what regret is measured on."""
        return float(self.backend.query(int(index), noise="mean").val)


def make_problem(
    benchmark: Any = "nb201",
    dataset: str | None = None,
    path: str | None = None,
    fidelity: int | None = None,
    reward: str = "val",
    noise: str = "seed",
    max_params: float | None = None,
    max_latency: float | None = None,
    penalty: float | None = None,
    **backend_kwargs: Any,
) -> Problem:
    """Validate the shared keyword arguments of every env and build the :class:`Problem`.

    ``backend_kwargs`` go to a supernet backend (``mode``, ``size``, ``device``, ...).
    """
    if noise not in NOISES:
        raise ValueError(f"unknown noise {noise!r}; valid: {list(NOISES)}")
    backend = resolve_backend(benchmark, dataset, path, fidelity, **backend_kwargs)
    if getattr(backend, "mode", None) == "train" and noise != "seed":
        raise ValueError(f"a train-mode supernet trains on every query: noise must be 'seed', got {noise!r}")
    optimum = backend.optimum()[1] if hasattr(backend, "optimum") else None
    ddas = isinstance(reward, str) and reward.startswith("ddas")
    if ddas and not hasattr(backend, "oneshot"):
        raise ValueError(f"reward {reward!r} needs a supernet backend (its one-shot model); {backend!r} has none")
    fn = make_reward(
        reward,
        optimum=optimum,
        max_params=max_params,
        max_latency=max_latency,
        penalty=penalty,
        oneshot=backend.oneshot() if ddas else None,
    )
    return Problem(backend, noise, fn, optimum, Reach(backend, backend.space))


PROBLEM_KWARGS = tuple(
    name for name, p in inspect.signature(make_problem).parameters.items() if p.kind is not p.VAR_KEYWORD
)


class UnknownKeywordError(TypeError, ValueError):
    """An unknown keyword argument to an env.

    Both a ``TypeError``, what Python raises for an unexpected keyword argument and what
    libraries that probe keywords (TorchRL's ``GymEnv``) catch, and a ``ValueError``, what
    every other bad argument of the envs raises.
    """


def constructor_keywords(owner: type) -> set[str]:
    """The keyword parameters of the constructors of the nas_gym classes ``owner`` derives from."""
    return {
        p.name
        for c in owner.__mro__
        if "__init__" in vars(c) and c.__module__.startswith("nas_gym")
        for p in inspect.signature(vars(c)["__init__"]).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    }


def check_keywords(owner: type, kwargs: dict[str, Any], valid: set[str], note: str = "") -> None:
    """:class:`UnknownKeywordError` naming the keywords of ``kwargs`` outside ``valid``, and every valid one."""
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        raise UnknownKeywordError(
            f"{owner.__name__}() got an unexpected keyword argument {unknown[0]!r}: unknown keyword argument(s) "
            f"{unknown}{note}; valid: {sorted(valid)}"
        )


def check_env_keywords(owner: type, kwargs: dict[str, Any], also: tuple[str, ...] = ()) -> None:
    """:func:`check_keywords` for an env class ``owner``: valid are its constructors' keywords, the
    problem's, the supernet's for a supernet benchmark, and ``also`` (those of a wrapper that
    ``gym.make`` puts around it)."""
    supernet = is_supernet(kwargs.get("benchmark"))
    valid = constructor_keywords(owner) | set(PROBLEM_KWARGS) | set(SUPERNET_KWARGS if supernet else ()) | set(also)
    unknown = set(kwargs) - valid
    note = (
        f" ({sorted(unknown)} apply to supernet benchmarks only)" if unknown and unknown <= set(SUPERNET_KWARGS) else ""
    )
    check_keywords(owner, kwargs, valid, note)


def problem_kwargs(owner: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` when all are problem keywords; else :class:`UnknownKeywordError` naming every keyword ``owner`` takes.

    The families pass their leftover keywords here, so a keyword another family takes (``top_k``
    given to Seq) gets a clear error instead of Python's TypeError from deep inside ``gym.make``.
    """
    check_env_keywords(owner, kwargs)
    return kwargs


class RenderModes(list):
    """An env's ``metadata["render_modes"]``: asking whether a value that is not a string is one
    of them raises ValueError naming the value and the modes.

    ``gym.make`` asks ``render_mode in render_modes`` before it builds the env, and then takes a
    mode it did not find for a string (``render_mode.endswith("_list")``): a number would fail
    there with an AttributeError that names neither the value nor the valid modes.
    """

    def __contains__(self, mode: object) -> bool:
        if not isinstance(mode, str):
            raise bad_render_mode(mode, self)
        return super().__contains__(mode)


def bad_render_mode(render_mode: object, modes: Iterable[str]) -> ValueError:
    return ValueError(f"unknown render_mode {render_mode!r}; valid: {list(modes)} or None")


def check_render_mode(render_mode: str | None, modes: tuple[str, ...]) -> str | None:
    if render_mode is not None and render_mode not in modes:
        raise bad_render_mode(render_mode, modes)
    return render_mode


class NasEnv(gym.Env):
    """Base of the Seq, Cont and Edit envs: the problem, the current architecture, rendering.

    Keyword arguments (all families): ``benchmark`` (a name or a backend object), ``dataset``,
    ``path`` (for benchmarks read from a user file), ``fidelity`` (search at that many training
    epochs where the table has them, e.g. 12 with the official NAS-Bench-201 file; results are
    scored at the full schedule), ``reward`` (one of ``REWARDS``),
    ``noise`` (``seed``: each query draws a training seed; ``mean``: the seed mean),
    ``max_params`` / ``max_latency`` / ``penalty`` (``reward="constrained"`` only), ``render_mode``.
    """

    metadata = {"render_modes": RenderModes(RENDER_MODES), "render_fps": 4}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.problem = make_problem(**problem_kwargs(type(self), kwargs))
        self.render_mode = check_render_mode(render_mode, RENDER_MODES)
        space = self.space
        self._E, self._O = space.n_decisions, space.max_options
        self.codes = np.zeros(self._E, dtype=np.int64)  # the current (or last) architecture
        self.last_record: Record | None = None

    # The documented interface of white-box agents: env.unwrapped.backend / .space / .optimum
    @property
    def backend(self) -> Any:
        return self.problem.backend

    @property
    def space(self) -> Space:
        return self.problem.space

    @property
    def optimum(self) -> float | None:
        return self.problem.optimum

    @property
    def reward_name(self) -> str:
        """The named reward the env was made with (``val``, ``cadam``, ...)."""
        return self.problem.reward.name

    # ---------------------------------------------------------------- query
    def query(self, codes: np.ndarray) -> tuple[float, dict[str, Any]]:
        """Query one architecture: its reward and the per-query ``info`` entries.

        Without a result (see :class:`Problem`) ``info`` is ``{"arch": ..., "no_result": True}``:
        no ``val``, nothing for the search log.
        """
        return self.query_index(self.problem.index(codes))

    def query_index(self, index: int) -> tuple[float, dict[str, Any]]:
        """:meth:`query` of the architecture at dense ``index`` (for families that track it)."""
        rec, reward = self.problem.query_index(index, self.np_random, self.last_record)
        self.last_record = rec
        if rec is None:
            return reward, {"arch": unanswered_string(self.space, index), "no_result": True}
        return reward, {
            "arch": arch_string(self.space, rec.arch_index),
            "arch_index": info_index(self.space, rec.arch_index),
            "val": rec.val,
            "cost_s": rec.cost_s,
        }

    # --------------------------------------------------------------- render
    def decided(self) -> int:
        """How many decisions of ``codes`` are set (all but in Seq's unfinished episodes)."""
        return self._E

    def render(self) -> str | np.ndarray | None:
        from .render import describe, draw_architecture

        if self.render_mode == "ansi":
            val = None if self.last_record is None else self.last_record.val
            return describe(self.space, self.codes, self.decided(), val) + "\n"
        if self.render_mode == "rgb_array":
            return draw_architecture(self.space, self.codes, self.decided())
        return None

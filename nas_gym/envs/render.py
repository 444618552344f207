"""Rendering of an architecture: a line of text (``ansi``) or a picture (``rgb_array``).

Cell spaces whose decisions are edges named ``"<dst><-<src>"`` (NAS-Bench-201 and the like) are
drawn as their DAG: nodes left to right, one arc per edge labelled with its operation. Any other
space is drawn as its decisions x options grid with the chosen options filled. Decisions not
made yet (a Seq episode in progress) show as ``?``.
"""

from __future__ import annotations

import re

import numpy as np

from ..spaces.base import Space

_EDGE = re.compile(r"^(\d+)<-(\d+)$")
PENDING = "?"


def describe(space: Space, codes: np.ndarray, decided: int | None = None, val: float | None = None) -> str:
    """One line: the canonical string when every decision is set (and the architecture is valid:
    a Cont episode starts from all-``none`` codes), else ``name=option`` with ``?``."""
    n = space.n_decisions if decided is None else decided
    if n >= space.n_decisions and space.is_valid(codes):
        text = space.to_string(codes)
    else:
        ops = [space.options[d][int(c)] if d < n else PENDING for d, c in enumerate(codes)]
        text = f"{n}/{space.n_decisions} decided: " + ", ".join(f"{d}={o}" for d, o in zip(space.decision_names, ops))
    return text if val is None else f"{text}  val={val:.2f}"


def cell_edges(space: Space) -> list[tuple[int, int]] | None:
    """``(dst, src)`` of each decision when the space is a cell DAG, else None."""
    matches = [_EDGE.match(name) for name in space.decision_names]
    if not all(matches):
        return None
    return [(int(m.group(1)), int(m.group(2))) for m in matches if m is not None]


def draw_architecture(space: Space, codes: np.ndarray, decided: int | None = None) -> np.ndarray:
    """An RGB ``uint8`` image of the architecture ``codes`` in ``space``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = space.n_decisions if decided is None else decided
    labels = [space.options[d][int(c)] if d < n else PENDING for d, c in enumerate(codes)]
    edges = cell_edges(space)
    if edges is None:
        fig = Figure(figsize=(1.2 + 0.9 * space.max_options, 0.8 + 0.45 * space.n_decisions), dpi=80)
        _draw_grid(fig.add_subplot(), space, codes, n)
    else:
        fig = Figure(figsize=(7.0, 3.6), dpi=80)
        _draw_dag(fig.add_subplot(), edges, labels)
    fig.suptitle(space.name, fontsize=9)
    canvas = FigureCanvasAgg(fig)  # Agg directly: no pyplot, no display, no global backend switch
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _draw_grid(ax, space: Space, codes: np.ndarray, decided: int) -> None:
    grid = np.where(space.option_mask, 0.15, np.nan)
    rows = np.arange(decided)
    grid[rows, np.asarray(codes)[:decided]] = 1.0
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for d in range(space.n_decisions):
        for o, name in enumerate(space.options[d]):
            chosen = d < decided and o == int(codes[d])
            ax.text(o, d, name, ha="center", va="center", fontsize=7, color="white" if chosen else "0.4")
    ax.set_yticks(range(space.n_decisions), space.decision_names, fontsize=7)
    ax.set_xticks([])


def _draw_dag(ax, edges: list[tuple[int, int]], labels: list[str]) -> None:
    from matplotlib.patches import Circle, FancyArrowPatch

    nodes = sorted({v for e in edges for v in e})
    x = {v: float(i) for i, v in enumerate(nodes)}
    for (dst, src), op in zip(edges, labels):
        span = x[dst] - x[src]
        # Adjacent nodes: a straight edge; longer spans bow above (even) or below (odd) the line,
        # further the longer they are, so that arcs and their labels do not overlap.
        rad = 0.0 if abs(span) <= 1 else (0.35 + 0.05 * abs(span)) * (1 if int(abs(span)) % 2 == 0 else -1)
        off = op in ("none", PENDING)
        ax.add_patch(
            FancyArrowPatch(
                (x[src], 0.0),
                (x[dst], 0.0),
                connectionstyle=f"arc3,rad={rad}",
                arrowstyle="-|>",
                mutation_scale=12,
                shrinkA=14,
                shrinkB=14,
                lw=1.0 if off else 1.6,
                linestyle=":" if off else "-",
                color="0.6" if off else "tab:blue",
            )
        )
        # label at the arc's midpoint: a quadratic Bezier peaks at half the control point's offset
        mx, my = (x[src] + x[dst]) / 2, -rad * span / 2
        ax.text(
            mx,
            my,
            op,
            ha="center",
            va="center",
            fontsize=7,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    for v in nodes:
        ax.add_patch(Circle((x[v], 0.0), 0.13, color="tab:orange", zorder=3))
        ax.text(x[v], 0.0, str(v), ha="center", va="center", fontsize=9, color="white", zorder=4)
    ax.set_xlim(-0.5, len(nodes) - 0.5)
    ax.set_ylim(-1.0, 1.0)
    ax.set_aspect("equal")
    ax.axis("off")

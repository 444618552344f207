"""``rgb_array`` rendering: the architecture as a decisions x options grid, chosen options filled."""

from __future__ import annotations

import numpy as np

from ..spaces.base import Space


def draw_architecture(space: Space, codes: np.ndarray) -> np.ndarray:
    """An RGB ``uint8`` image of the architecture ``codes`` in ``space``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    grid = np.where(space.option_mask, 0.15, np.nan)
    grid[np.arange(space.n_decisions), np.asarray(codes)] = 1.0
    fig = Figure(figsize=(1.2 + 0.9 * space.max_options, 0.8 + 0.45 * space.n_decisions), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for d, c in enumerate(np.asarray(codes)):
        ax.text(int(c), d, space.options[d][int(c)], ha="center", va="center", fontsize=7, color="white")
    ax.set_yticks(range(space.n_decisions), space.decision_names, fontsize=7)
    ax.set_xticks([])
    ax.set_title(space.name, fontsize=9)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()

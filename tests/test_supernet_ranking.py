"""A tiny NB201 supernet pretrained for ten epochs on real MNIST ranks cells better than chance
against the same cells trained alone (Kendall tau > 0, one-sided p < 0.05). About ten CPU-minutes
on two cores, so marked ``long`` (``make test-long``); ``scripts/rank_supernet.py`` prints the
same measurement with more options."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from nas_gym.supernets.backend import SupernetBackend
from nas_gym.supernets.ranking import distinct_cells, rank_children


@pytest.mark.slow
@pytest.mark.long
def test_tiny_supernet_ranks_children_better_than_chance(one_torch_thread):
    sn = SupernetBackend(
        space="nb201", dataset="mnist", size="tiny", device="auto", epochs=10, n_val=2000, cache_size=0, progress=False
    )
    cells = distinct_cells(sn, 20, np.random.default_rng(0))
    r = rank_children(sn, cells, epochs=2, progress=False)
    test = kendalltau(r.supernet, r.alone[0], alternative="greater")
    print(f"Kendall tau {r.tau:+.3f} (p = {test.pvalue:.4f})")
    assert r.tau > 0 and test.pvalue < 0.05

"""The supernet backend on CUDA (bf16 autocast, channels-last, images on the device). Marked
``gpu``: skipped where no CUDA device is present; the same behaviour is tested on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas_gym.supernets import backend as B
from nas_gym.supernets.backend import SupernetBackend

pytestmark = pytest.mark.gpu
CONV = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def make(**kw) -> SupernetBackend:
    return SupernetBackend(
        **{
            **dict(dataset="digits", size="tiny", device="auto", epochs=1, n_val=None, cache_size=0, progress=False),
            **kw,
        }
    )


def test_auto_device_is_cuda_and_keeps_data_there():
    sn = make()
    assert sn.device.type == "cuda"
    assert next(sn.network.parameters()).is_cuda and sn.train_data.x.is_cuda and sn.val_data.x.is_cuda


def test_frozen_queries_repeat_on_cuda():
    sn = make(space="darts")
    before = {k: v.clone() for k, v in sn.network.state_dict().items()}
    codes = sn.space.sample(np.random.default_rng(0), 2)
    a1, _, a2 = sn.query(codes[0]), sn.query(codes[1]), sn.query(codes[0])
    assert (a1.val, a1.loss) == (a2.val, a2.loss)
    assert all(torch.equal(before[k], v) for k, v in sn.network.state_dict().items())


def test_train_mode_and_child_training_run_in_bf16():
    sn = make(mode="train", train_batches=3)
    rec = sn.query(CONV, rng=np.random.default_rng(0))
    assert np.isfinite(rec.loss) and 0 <= rec.val <= 100
    assert 0 <= sn.evaluate(CONV, epochs=1) <= 100


def test_cached_stem_gives_the_uncached_numbers_on_cuda(monkeypatch):
    cells = make().space.sample(np.random.default_rng(1), 3)
    sn = make()
    cached = [sn.query(c) for c in cells]
    assert sn._stem[1] is not None and sn._stem[1][1][0][0].is_cuda
    monkeypatch.setattr(B, "STEM_CACHE_BYTES", 0)
    fresh = make()
    for a, b in zip(cached, (fresh.query(c) for c in cells)):
        assert a.val == pytest.approx(b.val, abs=100.0 / len(sn.val_data) + 1e-9)
        assert a.loss == pytest.approx(b.loss, rel=1e-3)

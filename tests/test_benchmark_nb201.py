import numpy as np
import pytest

import nas_gym
from nas_gym.spaces.nb201 import NB201Space

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


@pytest.mark.parametrize("dataset,best", [("cifar10", 91.61), ("cifar100", 73.49), ("ImageNet16-120", 46.73)])
def test_real_table_size_and_optimum(dataset, best):
    bench = nas_gym.load_benchmark("nb201", dataset=dataset)
    assert len(bench) == 15625
    idx, val = bench.optimum()
    assert round(val, 2) == best
    assert bench.rank(idx) == 1


def test_best_cifar10_cell_is_known(nb201_c10):
    idx, _ = nb201_c10.optimum()
    assert nb201_c10.space.to_string(idx) == (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )


def test_resnet_cell(nb201_c10):
    rec = nb201_c10.query(RESNET, noise="mean")
    assert round(rec.val, 2) == 90.86
    assert rec.cost_s > 0 and rec.params > 0 and rec.latency > 0


def test_seed_draws_follow_the_rng(nb201_c10):
    seeds = nb201_c10.val[nb201_c10.row(RESNET)]
    draws = [nb201_c10.query(RESNET, rng=np.random.default_rng(s)).val for s in range(60)]
    assert set(np.round(draws, 6)) == set(np.round(seeds[~np.isnan(seeds)], 6))
    again = [nb201_c10.query(RESNET, rng=np.random.default_rng(s)).val for s in range(60)]
    assert draws == again
    assert np.mean(draws) == pytest.approx(nb201_c10.query(RESNET, noise="mean").val, abs=0.2)


def test_batch_query_matches_single(nb201_c10):
    idx = np.arange(0, 15625, 97)
    v, c = nb201_c10.query_batch(idx, noise="mean")
    assert np.allclose(v, [nb201_c10.query(int(i), noise="mean").val for i in idx])
    assert np.allclose(c, nb201_c10.cost_s[idx])


def test_query_never_returns_test_metric(nb201_c10):
    rec = nb201_c10.query(RESNET, noise="mean")
    assert not hasattr(rec, "test")
    assert not nb201_c10.has_test
    with pytest.raises(ValueError, match="no test metric"):
        nb201_c10.evaluate(RESNET)


def test_bad_input_errors(nb201_c10):
    with pytest.raises(ValueError, match="'nb999'.*nb201"):
        nas_gym.load_benchmark("nb999")
    with pytest.raises(ValueError, match="'cifar11'.*cifar100"):
        nas_gym.load_benchmark("nb201", dataset="cifar11")
    with pytest.raises(ValueError, match="'gaussian'.*seed"):
        nb201_c10.query(0, noise="gaussian")
    with pytest.raises(ValueError, match="rng"):
        nb201_c10.query(0)


def test_cache_rebuilds_when_corrupt(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path))
    a = nas_gym.load_benchmark("nb201", "cifar100")
    entry = tmp_path / "nb201-cifar100"
    assert isinstance(a.val, np.memmap)
    val = np.array(a.val)
    del a  # truncating a file that is still mapped would fault the mapping
    (entry / "val.npy").unlink()
    (entry / "val.npy").write_bytes(b"not an array")
    b = nas_gym.load_benchmark("nb201", "cifar100")
    assert np.array_equal(val, np.asarray(b.val), equal_nan=True)
    assert isinstance(b.val, np.memmap)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_space_is_nb201(nb201_c10):
    assert isinstance(nb201_c10.space, NB201Space)


@pytest.mark.parametrize("damage", ["empty", "value"])
def test_cache_detects_empty_or_edited_arrays(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path))
    a = nas_gym.load_benchmark("nb201", "cifar100")
    val, best = np.array(a.val), a.optimum()
    del a
    path = tmp_path / "nb201-cifar100" / "val.npy"
    if damage == "empty":
        path.write_bytes(b"")
    else:  # an in-place edit keeps the size, shape and dtype: only the checksum can tell
        edited = np.load(path)
        edited[0, 0] = 99.9
        np.save(path, edited)
    b = nas_gym.load_benchmark("nb201", "cifar100")
    assert np.array_equal(val, np.asarray(b.val), equal_nan=True)
    assert b.optimum() == best and best[1] < 99.9

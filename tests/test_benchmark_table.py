"""The query protocol's fast paths: same answers as the plain definitions."""

import numpy as np
import pytest

import nas_gym
from nas_gym.benchmarks import TabularBenchmark
from nas_gym.spaces.base import Space


def uneven_table() -> TabularBenchmark:
    """1, 2 or 3 seeds per row, one absent row, extra columns."""
    space = Space("t", ("a", "b"), (("x", "y", "z"), ("p", "q")))
    val = np.array(
        [
            [1.0, 2.0, 3.0],
            [4.0, 5.0, np.nan],
            [6.0, np.nan, np.nan],
            [np.nan, np.nan, np.nan],
            [7.0, np.nan, 8.0],
            [9.0, 10.0, 11.0],
        ]
    )
    return TabularBenchmark(
        name="t",
        dataset="d",
        space=space,
        val=val,
        cost_s=np.arange(6.0) + 100,
        extra={"hw": np.arange(6.0) / 10},
        curves={"val": np.arange(12.0).reshape(6, 2)},
    )


@pytest.fixture(params=["uneven", "nb201", "graph"])
def bench(request, nb201_c10):
    if request.param == "uneven":
        return uneven_table()
    if request.param == "nb201":
        return nb201_c10
    return nas_gym.load_benchmark("nas-bench-graph", "citeseer")


def test_batch_equals_single_queries_with_the_same_generator(bench):
    idx = np.random.default_rng(0).choice(bench.present, 300)
    v, c = bench.query_batch(idx, rng=np.random.default_rng(7))
    rng = np.random.default_rng(7)
    recs = [bench.query(int(i), rng=rng) for i in idx]
    assert v.tolist() == [r.val for r in recs] and c.tolist() == [r.cost_s for r in recs]
    vm, cm = bench.query_batch(idx, noise="mean")
    assert np.array_equal(vm, bench.val_mean[bench._lookup[idx]]) and np.array_equal(cm, c)


def test_each_recorded_seed_is_equally_likely():
    t = uneven_table()
    rng = np.random.default_rng(1)
    for row, seeds in ((0, [1, 2, 3]), (1, [4, 5]), (2, [6]), (4, [7, 8])):
        draws, _ = t.query_batch(np.full(6000, row), rng=rng)
        values, counts = np.unique(draws, return_counts=True)
        assert values.tolist() == seeds
        assert np.allclose(counts / 6000, 1 / len(seeds), atol=0.03)


def test_record_fields_and_index_types():
    t = uneven_table()
    rec = t.query(np.int64(4), noise="mean")
    assert rec.arch_index == 4 and rec.val == 7.5 and rec.cost_s == 104.0
    assert rec.extra == {"hw": pytest.approx(0.4)} and rec.curve.tolist() == [8.0, 9.0]
    assert t.query([2, 0], noise="mean").val == 7.5 and t.query("a=z,b=p", noise="mean").val == 7.5
    v, c = t.query_batch(np.array([[0, 5], [1, 2]]), noise="mean")
    assert v.shape == (2, 2) and c[1, 1] == 102.0
    assert np.isnan(t.query_batch(np.array([3]), rng=np.random.default_rng(0))[0][0])


def test_bad_input_to_queries():
    t = uneven_table()
    with pytest.raises(ValueError, match="index 6 out of range"):
        t.query_batch(np.array([0, 6]), noise="mean")
    with pytest.raises(ValueError, match="index -1 out of range"):
        t.query_batch(np.array([-1]), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="index 6 out of range"):
        t.query(6, noise="mean")
    with pytest.raises(ValueError, match="not in the table"):
        t.query(3, noise="mean")
    with pytest.raises(ValueError, match="'gauss'.*'seed', 'mean'"):
        t.query_batch(np.array([0]), noise="gauss")
    with pytest.raises(ValueError, match="rng"):
        t.query_batch(np.array([0]))
    with pytest.raises(ValueError, match="cannot read an architecture from 2.5"):
        t.query(2.5, noise="mean")

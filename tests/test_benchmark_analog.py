import itertools

import numpy as np
import pytest

import nas_gym
from nas_gym.benchmarks import analog


@pytest.fixture(scope="module")
def bench():
    return nas_gym.load_benchmark("analog-nb201")


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def test_size_columns_and_honest_labels(bench):
    assert len(bench) == 15625 and bench.val.shape == (15625, 1)
    assert bench.test is None and "test-like" in bench.summary()["metric"]
    rec = bench.query(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
        rng=np.random.default_rng(0),
    )
    assert set(rec.extra) == set(analog.ACCURACIES + analog.DRIFTS)
    assert rec.val == pytest.approx(94.0664) and bench.optimum()[1] == pytest.approx(94.0664)
    assert 0 < rec.extra["analog_accuracy"] < rec.val


def test_op_and_edge_mapping_matches_nb201(bench, nb201_c10):
    """The inferred key reading ranks cells like NAS-Bench-201's own CIFAR-10 table, better
    than any other op map with the same edges and than the plain NB201 edge order."""
    ref = _ranks(nb201_c10.val_mean)
    ours = float(np.corrcoef(_ranks(bench.val_mean), ref)[0, 1])
    assert ours > 0.98
    # each cell's key in the package's own layout, and its accuracy rank
    codes = bench.space.codes_batch(np.arange(15625))
    keys = np.argsort(analog.OP_CODES)[codes][:, np.argsort(analog.EDGE_POSITIONS)]
    rank = _ranks(bench.val_mean)
    w = 5 ** np.arange(5, -1, -1)
    for ops in itertools.permutations(range(5)):
        for edges in ((0, 1, 3, 2, 4, 5), (0, 1, 2, 3, 4, 5)):
            if ops == analog.OP_CODES and edges == analog.EDGE_POSITIONS:
                continue
            other = np.empty(15625)
            other[np.array(ops)[keys[:, list(edges)]] @ w] = rank  # ranks under this reading
            assert np.corrcoef(other, ref)[0, 1] < ours - 0.01


def test_cells_without_a_path_score_chance(bench):
    iso = np.array([bench.space.is_isolated(int(i)) for i in range(15625)])
    assert iso.sum() == 254 and (bench.val_mean[iso] == 10.0).all()


def test_cost_is_nb201_training_time(bench, nb201_c10):
    assert np.array_equal(np.asarray(bench.cost_s), np.asarray(nb201_c10.cost_s))
    assert "NAS-Bench-201" in bench.summary()["cost"]


def test_bad_keys_and_paths():
    with pytest.raises(ValueError, match=r"\(0, 5, 0, 0, 0, 0\)"):
        analog.nb201_codes((0, 5, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="takes no path"):
        nas_gym.load_benchmark("analog-nb201", path="data.anb")
    with pytest.raises(ValueError, match="'cifar100'.*'cifar10'"):
        nas_gym.load_benchmark("analog-nb201", dataset="cifar100")

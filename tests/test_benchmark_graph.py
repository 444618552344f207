import numpy as np
import pytest
from nas_bench_graph import Arch, light_read

import nas_gym
from nas_gym.benchmarks import graph


@pytest.fixture(scope="module")
def cora():
    return nas_gym.load_benchmark("nas-bench-graph", dataset="cora")


@pytest.mark.parametrize("dataset", graph.DATASETS)
def test_every_dataset_has_the_published_size(dataset):
    bench = nas_gym.load_benchmark("nas-bench-graph", dataset=dataset)
    assert len(bench) == (2021 if dataset == "proteins" else 26206)
    assert bench.space.n_functions == len(bench)
    # every valid choice of the space reaches a stored architecture
    codes = bench.space.codes_batch(np.arange(bench.space.size))
    valid = bench.space._valid_mask(codes)
    val, _ = bench.query_batch(np.flatnonzero(valid), noise="mean")
    assert not np.isnan(val).any()
    assert np.isnan(bench.query_batch(np.flatnonzero(~valid), noise="mean")[0]).all()
    assert 0 < np.nanmin(bench.val_mean) and np.nanmax(bench.val_mean) <= 100
    assert bench.optimum()[1] > 70  # percent, not a fraction


def test_values_are_the_package_numbers_in_percent(cora):
    raw = light_read("cora")
    for key in (0, 12345, 88887):
        link, ops = graph.TABLE_LINKS[key // 10**4], [graph.GNN_OPS[int(c)] for c in f"{key:05d}"[1:]]
        assert Arch(list(link), ops).hash_arch() == key
        text = f"Arch({list(link)}, {ops})"
        rec = cora.query(text, noise="mean")
        assert rec.val == pytest.approx(100 * raw[key]["valid_perf"])
        assert cora.evaluate(text) == pytest.approx(100 * raw[key]["perf"])
        assert rec.params == pytest.approx(1e6 * raw[key]["para"])
        assert rec.latency == pytest.approx(raw[key]["latency"])


def test_proteins_keys_use_the_nine_op_digits():
    bench = nas_gym.load_benchmark("nas-bench-graph", dataset="proteins")
    raw = light_read("proteins")
    arch = Arch([0, 1, 2, 3], ["gcn", "sage", "arma", "fc"])  # digits 1 4 5 7 after pattern 8
    assert 81457 in raw and arch.hash_arch(use_proteins=True) != 81457 and arch.hash_arch() == 81457
    assert bench.query(arch, noise="mean").val == pytest.approx(100 * raw[81457]["valid_perf"])
    assert "ROC-AUC" in bench.summary()["metric"]


def test_non_canonical_choices_read_their_representative(cora):
    a = "Arch([0, 1, 2, 3], ['gcn', 'skip', 'gat', 'gin'])"
    b = "Arch([0, 1, 2, 3], ['skip', 'gcn', 'gat', 'gin'])"
    ra, rb = cora.query(a, noise="mean"), cora.query(b, noise="mean")
    assert ra.arch_index == rb.arch_index == cora.space.parse(b)
    assert ra.val == rb.val


def test_query_hides_test_and_charges_a_latency_cost(cora):
    rec = cora.query(12345, rng=np.random.default_rng(0))
    assert not hasattr(rec, "test") and cora.has_test
    lat, cost = cora.latency[cora.present], cora.cost_s[cora.present]
    assert np.allclose(cost / lat, cost[0] / lat[0]) and np.mean(cost) == pytest.approx(1000.0)
    assert "estimate" in cora.summary()["cost"]


def test_bad_input(cora):
    with pytest.raises(ValueError, match="'karate'.*'cora'.*'proteins'"):
        nas_gym.load_benchmark("nas-bench-graph", dataset="karate")
    with pytest.raises(ValueError, match="takes no path"):
        nas_gym.load_benchmark("nas-bench-graph", dataset="cora", path="x.bench")
    with pytest.raises(ValueError, match="not in the table"):
        cora.query("Arch([0, 0, 0, 0], ['skip', 'skip', 'skip', 'skip'])", noise="mean")
    with pytest.raises(ValueError, match="out of range"):
        cora.query(cora.space.size, noise="mean")
    with pytest.raises(ValueError, match="98888"):
        graph.decode_keys(np.array([98888]), cora.space)

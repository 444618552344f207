import json

import numpy as np
import pytest
from conftest import SHARED_DATA

import nas_gym
from nas_gym.benchmarks import macro

SHARED_FILE = SHARED_DATA / "nas-bench-macro" / macro.FILE_NAME
RECORDS = {  # the file's exact format: key -> test_acc per seed, mean_acc, std, params, flops
    "02012100": {"test_acc": [89.47, 88.95, 89.17], "params": 890666, "flops": 47327744},
    "11111221": {"test_acc": [92.18, 92.22, 92.51], "params": 2181386, "flops": 65012224},
    "00000000": {"test_acc": [45.1, 45.5, 45.49], "params": 387882, "flops": 7713280},
}


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("macro") / macro.FILE_NAME
    table = {
        k: {**v, "mean_acc": float(np.mean(v["test_acc"])), "std": float(np.std(v["test_acc"]))}
        for k, v in RECORDS.items()
    }
    path.write_text(json.dumps(table))
    return path


def test_small_file_loads_with_test_accuracy_as_the_only_metric(small_file):
    bench = nas_gym.load_benchmark("nas-bench-macro", path=small_file)
    assert len(bench) == 3 and bench.dataset == "cifar10"
    for key, rec in RECORDS.items():
        r = bench.row(key)
        assert bench.val[r].tolist() == rec["test_acc"]
        q = bench.query(key, noise="mean")
        assert (
            q.val == pytest.approx(np.mean(rec["test_acc"])) and q.params == rec["params"] and q.flops == rec["flops"]
        )
    assert bench.test is None and not bench.has_test
    with pytest.raises(ValueError, match="no test metric"):
        bench.evaluate("02012100")
    summary = bench.summary()
    assert "test accuracy" in summary["metric"] and "no validation split" in summary["metric"]
    assert "FLOPs" in summary["cost"] and summary["optimum_arch"] == "11111221"
    # cost: proportional to FLOPs, the table mean charged the nominal constant
    cost = bench.cost_s[bench.present]
    assert np.allclose(cost / bench.flops[bench.present], cost[0] / bench.flops[bench.present][0])
    assert cost.mean() == pytest.approx(1000.0)
    with pytest.raises(ValueError, match="not in the table"):
        bench.query("22222222", noise="mean")


def test_default_path_from_the_environment(small_file, monkeypatch):
    monkeypatch.setenv(macro.ENV_VAR, str(small_file))
    assert len(nas_gym.load_benchmark("nas-bench-macro")) == 3
    monkeypatch.setenv(macro.ENV_VAR, str(small_file.parent))  # a folder holding the file works too
    assert len(nas_gym.load_benchmark("nas-bench-macro")) == 3


def test_missing_or_malformed_file(tmp_path, monkeypatch):
    monkeypatch.delenv(macro.ENV_VAR, raising=False)
    with pytest.raises(
        FileNotFoundError, match="NAS_GYM_MACRO_PATH.*github.com/xiusu/NAS-Bench-Macro.*nas-bench-macro_cifar10.json"
    ):
        nas_gym.load_benchmark("nas-bench-macro")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nas_gym.load_benchmark("nas-bench-macro", path=tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"0201210": {"test_acc": [1.0], "params": 1, "flops": 1}}))
    with pytest.raises(ValueError, match="not a NAS-Bench-Macro file.*'0201210'"):
        nas_gym.load_benchmark("nas-bench-macro", path=bad)
    with pytest.raises(ValueError, match="'cifar100'.*'cifar10'"):
        nas_gym.load_benchmark("nas-bench-macro", dataset="cifar100", path=bad)


def test_available_benchmarks_says_it_needs_a_path(monkeypatch):
    monkeypatch.delenv(macro.ENV_VAR, raising=False)
    rows = [r for r in nas_gym.benchmarks.available_benchmarks() if r["name"] == "nas-bench-macro"]
    assert [r["status"] for r in rows] == ["needs path"] and "NAS_GYM_MACRO_PATH" in rows[0]["error"]


@pytest.mark.skipif(not SHARED_FILE.exists(), reason="the NAS-Bench-Macro file is not in ../shared/data")
def test_real_file():
    bench = nas_gym.load_benchmark("nas-bench-macro", path=SHARED_FILE)
    assert len(bench) == 6561 and bench.val.shape[1] == 3
    # codes: 0 identity adds no parameters, 2 (kernel 5, expansion 6) more than 1 at every layer
    codes = bench.space.codes_batch(bench.present)
    fit = np.linalg.lstsq(
        np.hstack([np.ones((len(codes), 1))] + [(codes == c).astype(float) for c in (1, 2)]),
        bench.params[bench.present],
        rcond=None,
    )[0]
    assert (fit[9:] > fit[1:9]).all() and (fit[1:9] > 0).all()
    # equivalent strings carry the same record
    canon = bench.space.canonical_map()
    assert np.array_equal(bench.val, bench.val[canon])
    assert bench.optimum()[1] == pytest.approx(93.1267, abs=1e-4)

"""The official NAS-Bench-201 / NATS-Bench importer, on small files written in their formats.

The files hold three architectures in exactly the official structure: a dict with
``meta_archs``, ``arch2infos`` {index: {hp: ArchResults state dict}} and ``evaluated_indexes``;
ArchResults state dicts with ``dataset_seed`` and ``all_results`` {(dataset, seed): ResultsCount
state dict}; ResultsCount state dicts with ``eval_acc1es`` keyed ``"<set>@<epoch>"``.
"""

from __future__ import annotations

import bz2
import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch

import nas_gym
from nas_gym.agents import Budget, SearchResult
from nas_gym.agents.base import search_log
from nas_gym.benchmarks import nats
from nas_gym.cli import main
from nas_gym.experiments.evaluation import score
from nas_gym.experiments.results import read_run, run_path

ARCHS = [  # official index -> arch string (the official order is not our dense order)
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
]
SEEDS = (777, 888)
SETS = {  # runs -> the evaluation sets their ResultsCount holds
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}


def acc(arch: int, dataset: str, setname: str, seed: int, epoch: int, epochs: int) -> float:
    """A distinct, checkable accuracy for every (arch, dataset, set, seed, epoch); the 12-epoch
    schedule ranks the architectures in reverse, so a search at 12 epochs and a score at 200
    epochs disagree visibly."""
    rank = len(ARCHS) - 1 - arch if epochs == 12 else arch
    base = 50 + 10 * rank + (5 if setname == "ori-test" else 3 if setname == "x-test" else 0)
    return base + 0.01 * list(SETS).index(dataset) + 0.1 * SEEDS.index(seed) + 5.0 * (epoch + 1) / epochs


def results_count(arch: int, dataset: str, seed: int, epochs: int) -> dict:
    """A ResultsCount state dict (its ``__dict__``), one training run."""
    sets = SETS[dataset]
    evals = {f"{s}@{e}": acc(arch, dataset, s, seed, e, epochs) for s in sets for e in range(epochs)}
    return {
        "name": dataset,
        "net_state_dict": {"stem.weight": torch.zeros(2, 2)} if arch == 0 else None,
        "train_acc1es": {e: 50.0 for e in range(epochs)},
        "train_acc5es": {e: 90.0 for e in range(epochs)},
        "train_losses": {e: 1.0 for e in range(epochs)},
        "train_times": {e: 2.0 + arch for e in range(epochs)},
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": ARCHS[arch], "class_num": 10},
        "params": 0.1 * (arch + 1),
        "flop": 10.0 * (arch + 1),
        "seed": seed,
        "epochs": epochs,
        "latency": [0.01 * (arch + 1)],
        "eval_names": list(sets),
        "eval_acc1es": evals,
        "eval_times": {k: 0.5 for k in evals},
        "eval_losses": {k: 1.0 for k in evals},
    }


def arch_results(arch: int, epochs: int) -> dict:
    """An ArchResults state dict: every dataset, both seeds (one seed for 'cifar10')."""
    seeds = {ds: list(SEEDS[:1] if ds == "cifar10" else SEEDS) for ds in SETS}
    return {
        "arch_index": arch,
        "arch_str": ARCHS[arch],
        "all_results": {(ds, s): results_count(arch, ds, s, epochs) for ds, ss in seeds.items() for s in ss},
        "dataset_seed": seeds,
        "clear_net_done": False,
    }


def official_dict(hp_names: tuple[str, str]) -> dict:
    less, full = hp_names
    return {
        "meta_archs": list(ARCHS),
        "arch2infos": {i: {less: arch_results(i, 12), full: arch_results(i, 200)} for i in range(len(ARCHS))},
        "evaluated_indexes": list(range(len(ARCHS))),
    }


def write_nb201_pth(path, legacy: bool = False):
    torch.save(official_dict(("less", "full")), path, _use_new_zipfile_serialization=not legacy)
    return path


def write_nats_pbz2(path):
    with bz2.open(path, "wb") as f:
        pickle.dump(official_dict(("12", "200")), f, protocol=4)
    return path


def write_nats_folder(folder):
    folder.mkdir()
    d = official_dict(("12", "200"))
    with bz2.open(folder / "meta.pickle.pbz2", "wb") as f:
        pickle.dump({"meta_archs": d["meta_archs"], "evaluated_indexes": d["evaluated_indexes"]}, f, protocol=4)
    for i, by_hp in d["arch2infos"].items():
        with bz2.open(folder / f"{i:06d}.pickle.pbz2", "wb") as f:
            pickle.dump(by_hp, f, protocol=4)
    return folder


WRITERS = {
    "nb201-pth": lambda tmp: write_nb201_pth(tmp / "NAS-Bench-201-v1_1-096897.pth"),
    "nb201-pth-legacy": lambda tmp: write_nb201_pth(tmp / "NAS-Bench-201-v1_0-e61699.pth", legacy=True),
    "nats-pbz2": lambda tmp: write_nats_pbz2(tmp / "NATS-tss-v1_0-3ffb9.pickle.pbz2"),
    "nats-folder": lambda tmp: write_nats_folder(tmp / "NATS-tss-v1_0-3ffb9-simple"),
}


@pytest.fixture(scope="module", params=list(WRITERS))
def official(request, tmp_path_factory):
    return WRITERS[request.param](tmp_path_factory.mktemp(request.param))


def test_reads_every_official_format(official):
    bench = nas_gym.load_benchmark("nb201", dataset="cifar10", path=official)
    assert len(bench) == 3
    for a, text in enumerate(ARCHS):
        r = bench.row(text)
        assert r == bench.space.parse(text)  # official index a lands on our dense index
        # val: x-valid of the cifar10-valid runs after the last of 200 epochs, per seed
        assert bench.val[r].tolist() == [acc(a, "cifar10-valid", "x-valid", s, 199, 200) for s in SEEDS]
        # test: ori-test of the 'cifar10' (train+valid) runs, never returned by a query
        assert bench.evaluate(text) == pytest.approx(acc(a, "cifar10", "ori-test", 777, 199, 200))
        rec = bench.query(text, noise="mean")
        assert rec.val == pytest.approx(np.mean([acc(a, "cifar10-valid", "x-valid", s, 199, 200) for s in SEEDS]))
        assert rec.cost_s == pytest.approx(200 * (2.0 + a))
        assert rec.params == pytest.approx(1e5 * (a + 1)) and rec.flops == pytest.approx(1e7 * (a + 1))
        assert rec.latency == pytest.approx(0.01 * (a + 1))
        assert rec.curve.shape == (200,) and rec.curve[-1] == rec.val
        assert bench.curves["val12"][r, -1] == pytest.approx(
            np.mean([acc(a, "cifar10-valid", "x-valid", s, 11, 12) for s in SEEDS])
        )
        assert not any(rec.val == bench.test[r])


def test_other_datasets_use_their_own_splits(official):
    bench = nas_gym.load_benchmark("nb201", dataset="cifar100", path=official)
    r = bench.row(ARCHS[2])
    assert bench.val[r].tolist() == [acc(2, "cifar100", "x-valid", s, 199, 200) for s in SEEDS]
    assert bench.evaluate(ARCHS[2]) == pytest.approx(
        np.mean([acc(2, "cifar100", "x-test", s, 199, 200) for s in SEEDS])
    )
    assert nas_gym.load_benchmark("nb201", dataset="ImageNet16-120", path=official).summary()["has_test"]


def test_absent_architectures_are_refused(official):
    bench = nas_gym.load_benchmark("nb201", dataset="cifar10", path=official)
    missing = "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    with pytest.raises(ValueError, match="not in the table"):
        bench.query(missing, noise="mean")
    assert bench.optimum()[0] == bench.space.parse(ARCHS[2])


def test_missing_or_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="NAS-Bench-201.*github.com/D-X-Y"):
        nas_gym.load_benchmark("nb201", dataset="cifar10", path=tmp_path / "nope.pth")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(pickle.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a NAS-Bench-201 / NATS-Bench file"):
        nas_gym.load_benchmark("nb201", dataset="cifar10", path=junk)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="meta.pickle.pbz2"):
        nas_gym.load_benchmark("nb201", dataset="cifar10", path=tmp_path / "empty")


def test_files_cannot_run_code(tmp_path):
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"meta_archs": [], "arch2infos": {0: print}}))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        nats.read_official(evil)


def cost12(arch: int) -> float:
    """What the official APIs charge for a 12-epoch run: 12 epochs' training, one epoch's validation."""
    return 12 * (2.0 + arch) + 0.5


@pytest.mark.parametrize("dataset, runs", [("cifar10", "cifar10-valid"), ("cifar100", "cifar100")])
def test_fidelity_12_queries_return_and_charge_the_12_epoch_runs(official, dataset, runs):
    full = nas_gym.load_benchmark("nb201", dataset=dataset, path=official)
    bench = nas_gym.load_benchmark("nb201", dataset=dataset, path=official, fidelity=12)
    assert full.summary()["fidelities"] == [12] and bench.fidelity == 12 and bench.final is not None
    rng = np.random.default_rng(0)
    for a, text in enumerate(ARCHS):
        r = bench.row(text)
        # x-valid after the 12-epoch schedule's last epoch, per seed (not the 200-epoch run at epoch 12)
        assert bench.val[r].tolist() == [acc(a, runs, "x-valid", s, 11, 12) for s in SEEDS]
        rec = bench.query(text, rng=rng)
        assert rec.val in bench.val[r].tolist() and rec.cost_s == pytest.approx(cost12(a))
        assert rec.curve.shape == (12,) and rec.curve[-1] == pytest.approx(bench.val_mean[r])
        assert bench.query_batch(np.array([r]), rng=rng)[1][0] == pytest.approx(cost12(a))
        # what scores a search stays the 200-epoch table
        assert bench.final.query(text, noise="mean").val == full.query(text, noise="mean").val
        assert bench.evaluate(text) == full.evaluate(text)
    # the reversed 12-epoch ranking: the optimum the search sees is the 200-epoch worst
    assert bench.optimum()[0] == full.space.parse(ARCHS[0]) and full.optimum()[0] == full.space.parse(ARCHS[2])


def test_a_search_at_fidelity_12_is_scored_at_200_epochs(official):
    env = gym.make("NasGym/NB201-Cont-v0", dataset="cifar10", path=official, fidelity=12, noise="mean", budget=3)
    env.reset(seed=0)
    base = env.unwrapped
    for text in ARCHS:
        env.step(base.encode(base.space.codes(base.space.parse(text))))
    log = search_log(env)
    assert np.sum(log.cost_s) == pytest.approx(sum(cost12(a) for a in range(3)))  # 12-epoch time charged
    result = SearchResult.from_log("by-hand", 0, log, Budget(3))
    full = nas_gym.load_benchmark("nb201", dataset="cifar10", path=official)
    scored = score(result, base.backend)
    # the search returns the best by 12-epoch validation (ARCHS[0], reversed ranking) ...
    assert scored["best_arch"] == full.space.to_string(full.space.parse(ARCHS[0]))
    assert scored["best_observed"] == pytest.approx(
        np.mean([acc(0, "cifar10-valid", "x-valid", s, 11, 12) for s in SEEDS])
    )
    # ... and it is scored by its 200-epoch validation and test, against the 200-epoch optimum
    assert scored["best_val"] == pytest.approx(
        np.mean([acc(0, "cifar10-valid", "x-valid", s, 199, 200) for s in SEEDS])
    )
    assert scored["test"] == pytest.approx(acc(0, "cifar10", "ori-test", 777, 199, 200))
    assert scored["optimum"] == pytest.approx(full.optimum()[1]) and scored["fidelity"] == 12
    assert scored["anytime"][-1] == scored["best_val"]


def test_compare_runs_the_papers_protocol_with_a_seconds_budget(official, tmp_path, capsys):
    budget = cost12(2) + cost12(1) + 1  # about three 12-epoch runs; 200-epoch runs would cost 25x more
    args = [
        "compare",
        "--env",
        "NB201-Seq-v0",
        "--agents",
        "reinforce-cat",
        "--seeds",
        "1",
        "--budget",
        f"{budget}s",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--env-kwargs",
        f"dataset=cifar10,path={official},fidelity=12",
    ]
    assert main(args) == 0, capsys.readouterr().err
    run = read_run(run_path(tmp_path, "reinforce-cat", 0))
    costs = run["log"]["cost_s"]
    assert all(any(c == pytest.approx(cost12(a)) for a in range(3)) for c in costs) and len(costs) >= 3
    full = nas_gym.load_benchmark("nb201", dataset="cifar10", path=official)
    assert run["result"]["best_val"] == pytest.approx(full.query(run["result"]["best_index"], noise="mean").val)


def test_fidelity_needs_a_table_with_curves(official):
    with pytest.raises(ValueError, match=r"fidelity=12: nb201/cifar10 .*no results of shorter.*official NAS-Bench-201"):
        nas_gym.load_benchmark("nb201", dataset="cifar10", fidelity=12)
    with pytest.raises(ValueError, match=r"fidelity=25: .*results at \[12\] epochs; valid: \[12\]"):
        nas_gym.load_benchmark("nb201", dataset="cifar10", path=official, fidelity=25)
    with pytest.raises(ValueError, match="fidelity=12: nas-bench-graph/cora"):
        gym.make("NasGym/Graph-Cont-v0", fidelity=12)
    with pytest.raises(ValueError, match="whole number of epochs"):
        gym.make("NasGym/NB201-Cont-v0", path=official, fidelity=12.0)


def test_compare_refuses_a_fidelity_the_table_lacks_before_any_run(tmp_path, capsys):
    args = [
        "compare",
        "--env",
        "NB201-Cont-v0",
        "--agents",
        "rs",
        "--seeds",
        "1",
        "--budget",
        "5",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
        "--env-kwargs",
        "fidelity=12",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "fidelity=12" in err and "official NAS-Bench-201" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "runs").exists()

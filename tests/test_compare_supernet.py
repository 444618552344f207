"""The side-by-side supernet comparison script: both architectures of every run in the table,
children trained alone once (a re-run resumes from the cache), and clear errors for bad input."""

from __future__ import annotations

import json

import pytest

# batch 32: the pretraining the one-shot tests cache too (test_supernet_backend wants batch 64 uncached)
from tiny_supernet import TINY as _TINY

from nas_gym.experiments.results import read_run, run_path, write_atomic

TINY = {**_TINY, "n_val": 100, "recal_batches": 1}


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("compare_supernet_agents")


def test_table_scores_both_architectures_and_a_rerun_trains_nothing_again(script, tmp_path, one_torch_thread):
    args = (["darts", "rs"], 1, 3, 0.5, tmp_path)
    rows = script.compare(*args, env_kwargs=TINY, alone_epochs=1, progress=False)
    darts, rs = rows
    assert [r["agent"] for r in rows] == ["darts", "rs"] and darts["runs"] == rs["runs"] == 1
    run = read_run(run_path(tmp_path, "darts", 0))
    assert run["spec"]["agent_kwargs"]["steps_per_query"] >= 1  # the half epoch spread over the 3 queries
    res = run["result"]
    assert darts["best_val"] == pytest.approx(res["best_val"]) and darts["argmax_val"] == pytest.approx(
        res["recommended_val"]
    )
    cache = tmp_path / "alone_1ep.json"
    acc = json.loads(cache.read_text())["test_acc"]
    assert darts["best_alone"] == pytest.approx(acc[f"{res['best_index']}:0"])
    assert darts["argmax_alone"] == pytest.approx(acc[f"{res['recommended_index']}:0"])
    assert rs["argmax_val"] is None and rs["argmax_alone"] is None and rs["best_alone"] is not None
    text = script.table(rows, 1)
    # darts's paper reports its argmax (bold), random search the process best
    assert f"| darts | argmax | 1 | {res['best_val']:.2f} ± 0.00 | **{res['recommended_val']:.2f} ± 0.00** |" in text
    assert "| rs | process best | 1 |" in text and "| - | " in text.split("| rs |")[1]
    # a re-run after a kill: finished searches and trained children are kept; only a lost child trains
    lost = f"{res['best_index']}:0"
    kept = {k: v for k, v in acc.items() if k != lost}
    write_atomic(cache, {**json.loads(cache.read_text()), "test_acc": kept})
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()}
    again = script.compare(*args, env_kwargs=TINY, alone_epochs=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()} == stamps
    assert json.loads(cache.read_text())["test_acc"] == pytest.approx(acc)  # the same seed retrains the same child
    assert again == rows
    script.plot(rows, tmp_path / "p.png", 1)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_arguments_are_named_with_the_valid_choices(script, tmp_path, capsys, raises_naming):
    with pytest.raises(SystemExit) as e:
        script.main(["--agents", "darts", "dartz", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "dartz" in err and "lnas" in err and "cadam" in err
    raises_naming(lambda: script.compare(["rs"], 1, 0, 1.0, tmp_path), "queries", "0")
    raises_naming(lambda: script.compare(["rs"], 1, 3, -1.0, tmp_path), "search_epochs", "-1.0")
    raises_naming(lambda: script.compare(["ppo"], 1, 3, 1.0, tmp_path), "ppo", "darts")  # a tabular agent
    with pytest.raises(SystemExit):
        script.main(["--size", "huge"])
    assert "huge" in capsys.readouterr().err

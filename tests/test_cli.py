"""``nas-gym compare`` and ``nas-gym demo``: argument parsing, the printed table, exit codes."""

from __future__ import annotations

import pytest

from nas_gym.cli import main, parse_agent_kwargs, parse_kwargs
from nas_gym.experiments.results import read_run, run_path


def test_kwargs_are_parsed_as_literals_where_they_parse():
    assert parse_kwargs("noise=mean,budget=100,scale=0.5,flag=True") == {
        "noise": "mean",
        "budget": 100,
        "scale": 0.5,
        "flag": True,
    }
    assert parse_kwargs(None) == {}
    with pytest.raises(ValueError):
        parse_kwargs("novalue")
    assert parse_agent_kwargs(["re:population=20,sample=5", "sb3:PPO:n_steps=64", "re:sample=4"]) == {
        "re": {"population": 20, "sample": 4},
        "sb3:PPO": {"n_steps": 64},
    }
    with pytest.raises(ValueError):
        parse_agent_kwargs(["population=20"])


def test_compare_runs_the_grid_and_prints_the_table(tmp_path, capsys):
    args = [
        "compare",
        "--env",
        "NB201-Cont-v0",
        "--dataset",
        "cifar10",
        "--agents",
        "rs,re",
        "--seeds",
        "2",
        "--budget",
        "20",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--agent-kwargs",
        "re:population=5,sample=2",
        "--env-kwargs",
        "noise=mean",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "| NasGym/NB201-Cont-v0 | rs | 2 |" in text and "| re |" in text
    run = read_run(run_path(tmp_path, "re", 1))
    assert run["spec"]["agent_kwargs"] == {"population": 5, "sample": 2}
    assert run["spec"]["env_kwargs"] == {"dataset": "cifar10", "noise": "mean"}
    assert (tmp_path / "summary.md").exists() and (tmp_path / "anytime.png").exists()


def test_compare_exits_1_when_a_run_failed_and_2_on_bad_arguments(tmp_path, capsys):
    args = [
        "compare",
        "--env",
        "NB201-Cont-v0",
        "--agents",
        "rs,cadam",
        "--seeds",
        "1",
        "--budget",
        "5",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--agent-env-kwargs",
        "cadam:obs=previous",
    ]
    assert main(args) == 1
    assert "failed" in capsys.readouterr().err
    assert main(["compare", "--env", "NB201-Cont-v0", "--budget", "lots", "--out", str(tmp_path / "x")]) == 2
    assert main(["compare", "--env", "NB999-Cont-v0", "--out", str(tmp_path / "x")]) == 2
    assert main(["compare", "--env", "NB201-Cont-v0", "--agents", "rs,nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown agents ['nope']" in capsys.readouterr().err


def test_demo_compares_the_baselines(tmp_path, capsys):
    args = ["demo", "--seeds", "1", "--budget", "15", "--workers", "1", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for agent in ("rs", "re", "ls", "bo", "tpe"):
        assert f"| {agent} |" in out


def test_benchmarks_lists_tables_and_says_what_needs_a_path(capsys, monkeypatch):
    import json

    monkeypatch.delenv("NAS_GYM_MACRO_PATH", raising=False)
    assert main(["benchmarks"]) == 0
    out = capsys.readouterr().out
    assert "91.61" in out and "73.49" in out and "46.73" in out
    assert "needs path" in out and "NAS_GYM_MACRO_PATH" in out
    assert main(["benchmarks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {(r["name"], r["dataset"]): r for r in rows}
    assert by[("nb201", "cifar10")]["n_arch"] == 15625
    assert by[("nas-bench-graph", "proteins")]["n_arch"] == 2021
    assert by[("nas-bench-macro", "cifar10")]["status"] == "needs path"


def test_supernet_pretrain_caches_its_checkpoint(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path))  # an empty cache: other tests pretrain the same recipe
    args = [
        "supernet",
        "pretrain",
        "--space",
        "nb201",
        "--data",
        "digits",
        "--size",
        "tiny",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--device",
        "cpu",
        "--no-progress",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "checkpoint:" in first and "trained 22 steps" in first and "one-shot model" in first
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "trained 0 steps" in again  # cached: nothing trains
    assert first.splitlines()[0] == again.splitlines()[0]  # the same checkpoint file


def test_supernet_pretrain_rejects_bad_input(capsys):
    assert main(["supernet", "pretrain", "--data", "svhn", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "svhn" in err and "mnist" in err


def _compare_args(out, *extra: str) -> list[str]:
    return [
        "compare",
        "--env",
        "NB201-Cont-v0",
        "--seeds",
        "1",
        "--budget",
        "5",
        "--workers",
        "1",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--agents", "re", "--agent-kwargs", "re:populaton=3"], ["populaton", "valid:", "population", "sample"]),
        (["--agents", "re", "--agent-kwargs", "re:population=abc"], ["population='abc'", "str", "int"]),
        (["--agents", "sb3:PPO", "--agent-kwargs", "sb3:PPO:n_step=8"], ["n_step", "n_steps"]),
        (["--agents", "rs", "--agent-kwargs", "re:population=3"], ["['re']", "not among the agents", "['rs']"]),
        (["--agents", "rs", "--env-kwargs", "dataset=cifar11"], ["cifar11", "cifar100", "ImageNet16-120"]),
        (["--agents", "rs", "--dataset", "cifar11"], ["cifar11", "cifar100"]),
        (["--agents", "rs", "--env-kwargs", "top_k=many"], ["top_k", "'many'"]),
        (["--agents", "rs", "--seeds", "0"], ["seeds", "got 0"]),
        (["--agents", "rs", "--workers", "0"], ["workers", "got 0"]),
        (["--agents", "rs", "--budget", "infs"], ["infs", "36000s"]),
        (["--agents", "rs,re,rs"], ["['rs']", "more than once"]),
    ],
)
def test_compare_checks_every_argument_before_any_run(tmp_path, capsys, extra, words):
    assert main(_compare_args(tmp_path / "out", *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas-gym: error:") and "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "out" / "runs").exists()  # nothing ran


def test_compare_refuses_an_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(_compare_args(tmp_path / "file", "--agents", "rs")) == 2
    assert "is a file" in capsys.readouterr().err


def test_summary_holds_only_the_runs_asked_for_and_says_what_else_is_there(tmp_path, capsys):
    assert main(_compare_args(tmp_path, "--agents", "rs,re")) == 0
    capsys.readouterr()
    assert main(_compare_args(tmp_path, "--agents", "rs")) == 0
    out, err = capsys.readouterr()
    assert "| rs |" in out and "| re |" not in out and "| re |" not in (tmp_path / "summary.md").read_text()
    assert "1 other run file(s)" in err and "re__seed0.json" in err


def test_per_agent_env_kwargs_give_cadam_its_reward_within_one_grid(tmp_path, capsys, recwarn):
    args = _compare_args(tmp_path, "--agents", "rs,cadam", "--agent-env-kwargs", "cadam:reward=cadam")
    assert main(args) == 0
    assert read_run(run_path(tmp_path, "cadam", 0))["spec"]["env_kwargs"] == {"reward": "cadam"}
    assert read_run(run_path(tmp_path, "rs", 0))["spec"]["env_kwargs"] == {}
    assert not [w for w in recwarn if "cadam" in str(w.message)]


def test_when_every_run_fails_no_plot_is_claimed(tmp_path, capsys):
    assert main(_compare_args(tmp_path, "--agents", "rs")) == 0  # an earlier summary leaves its plot
    assert (tmp_path / "anytime.png").exists()
    capsys.readouterr()
    args = _compare_args(tmp_path, "--agents", "cadam", "--agent-env-kwargs", "cadam:obs=previous")
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "anytime.png" not in out and "summary.md" in out
    assert not (tmp_path / "anytime.png").exists()  # the old plot showed other runs: gone


def test_off_a_terminal_progress_is_a_few_plain_lines(tmp_path, capsys):
    args = [a for a in _compare_args(tmp_path, "--agents", "rs", "--seeds", "3") if a != "--no-progress"]
    assert "--no-progress" not in args and main(args) == 0
    err = capsys.readouterr().err  # captured, not a terminal: no bar, the start and the end within 30 s
    assert "\r" not in err and [ln.split(":")[0] for ln in err.splitlines()] == ["compare on NB201-Cont-v0"] * 2


def test_an_epochs_only_budget_is_refused_for_a_table_agent_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path / "cache"))
    args = [
        "compare",
        "--env",
        "NB201Supernet-Cont-v0",
        "--agents",
        "darts,rs",
        "--seeds",
        "1",
        "--budget",
        "2ep",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--env-kwargs",
        "data=digits,size=tiny,epochs=1",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas-gym: error: agent 'rs' cannot spend a budget of epochs alone ('2ep')"), err
    assert "'2ep+30'" in err and "whichever" in err and len(err.strip().splitlines()) == 1
    # refused before any run and before the supernet was pretrained for darts
    assert not (tmp_path / "out" / "runs").exists() and not (tmp_path / "cache").exists()

"""Progress off a terminal: plain lines, few of them, never a carriage return; a bar on a
terminal; silenced by the keyword, the CLI flag or ``NAS_GYM_PROGRESS=0``. Pretraining (also from
``gym.make``), meta-training and comparison grids all report through :mod:`nas_gym.progress`."""

from __future__ import annotations

import io

import pytest

from nas_gym.progress import Progress, duration, progress_enabled


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_off_a_terminal_say_what_how_far_the_status_and_eta(monkeypatch):
    monkeypatch.setenv("NAS_GYM_PROGRESS_INTERVAL", "0")  # a line at every update
    log = io.StringIO()
    with Progress(4, "pretrain x", "step", stream=log) as p:
        p.update(1, epoch="1/2", loss=1.23456)
        p.note("validation 50.0%")
        p.update(3, epoch="2/2", loss=0.5)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0] == "pretrain x: 0/4 steps (0%), 0:00 elapsed"
    assert lines[1].startswith("pretrain x: 1/4 steps (25%), epoch 1/2, loss 1.235, 0:00 elapsed, ETA 0:0")
    assert lines[2] == "validation 50.0%"
    assert lines[3] == "pretrain x: 4/4 steps (100%), epoch 2/2, loss 0.5, 0:00 elapsed"  # done: no ETA
    assert len(lines) == 4  # closing after a line of the final state adds nothing


def test_lines_wait_for_the_interval_and_the_last_one_comes_at_the_end(monkeypatch):
    monkeypatch.setenv("NAS_GYM_PROGRESS_INTERVAL", "3600")
    log = io.StringIO()
    with Progress(1000, "runs", "run", stream=log) as p:
        for _ in range(1000):
            p.update(1)
    assert log.getvalue().splitlines() == [
        "runs: 0/1000 runs (0%), 0:00 elapsed",
        "runs: 1000/1000 runs (100%), 0:00 elapsed",
    ]


def test_a_terminal_gets_a_tqdm_bar_and_silencing_silences_both(monkeypatch):
    tty = Terminal()
    with Progress(3, "grid", "run", stream=tty) as p:
        p.update(3, failed=0)
    assert "\r" in tty.getvalue() and "3/3" in tty.getvalue() and "failed=0" in tty.getvalue()
    for stream in (Terminal(), io.StringIO()):
        with Progress(3, "grid", "run", stream=stream, enabled=False) as p:
            p.update(3)
            p.note("x")
        assert stream.getvalue() == ""
    monkeypatch.setenv("NAS_GYM_PROGRESS", "0")
    assert not progress_enabled(True) and not progress_enabled(None)
    quiet = io.StringIO()
    with Progress(3, "grid", "run", stream=quiet, enabled=True) as p:
        p.update(3)
    assert quiet.getvalue() == ""


def test_bad_settings_are_named(monkeypatch, raises_naming):
    monkeypatch.setenv("NAS_GYM_PROGRESS", "maybe")
    raises_naming(lambda: progress_enabled(None), "NAS_GYM_PROGRESS", "'maybe'", "0")
    monkeypatch.setenv("NAS_GYM_PROGRESS", "1")
    monkeypatch.setenv("NAS_GYM_PROGRESS_INTERVAL", "soon")
    raises_naming(lambda: Progress(1, "x", stream=io.StringIO()), "NAS_GYM_PROGRESS_INTERVAL", "'soon'")
    assert duration(5) == "0:05" and duration(3725) == "1:02:05"


def test_pretraining_from_gym_make_writes_a_few_plain_lines_and_one_variable_silences_it(
    tmp_path, capfd, monkeypatch, one_torch_thread
):
    import gymnasium as gym

    import nas_gym  # noqa: F401

    kwargs = dict(data="digits", size="tiny", device="cpu", n_val=50, recal_batches=1, recipe={"batch_size": 32})
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path / "a"))  # not cached: it pretrains
    capfd.readouterr()
    gym.make("NasGym/NB201Supernet-Cont-v0", epochs=2, **kwargs)
    # capfd sends file descriptor 2 to a file, as a script run with ``2> log`` (or under nohup, or in CI) does
    text = capfd.readouterr().err
    lines = [ln for ln in text.splitlines() if ln.startswith("pretrain nb201 tiny digits:")]
    assert "\r" not in text and 2 <= len(lines) <= 4, text  # a start, the end, at most one every 30 s between
    last = lines[-1]
    assert "(100%)" in last and "epoch 2/2" in last and "loss " in last, last

    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path / "b"))  # not cached either: it pretrains again
    monkeypatch.setenv("NAS_GYM_PROGRESS", "0")
    env = gym.make("NasGym/NB201Supernet-Cont-v0", epochs=1, **kwargs)
    assert env.unwrapped.backend.trained_steps > 0 and capfd.readouterr().err == ""


def test_a_grid_reports_each_run_and_the_cli_flag_silences_it(tmp_path, capsys, monkeypatch):
    from nas_gym.cli import main

    monkeypatch.setenv("NAS_GYM_PROGRESS_INTERVAL", "0")
    args = [
        "compare",
        "--env",
        "NB201-Cont-v0",
        "--agents",
        "rs,re",
        "--seeds",
        "2",
        "--budget",
        "10",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("compare on NB201-Cont-v0:")]
    assert "\r" not in err and len(lines) == 5  # the start and one per run (interval 0)
    assert lines[-1].startswith("compare on NB201-Cont-v0: 4/4 runs (100%), failed 0, last ")
    assert "best val " in lines[-1]
    assert main([*args[:-1], str(tmp_path / "quiet"), "--no-progress"]) == 0
    assert "compare on" not in capsys.readouterr().err


def test_meta_training_reports_its_meta_validation(capsys, one_torch_thread):
    from nas_gym.fewshot import TaskSampler, image_set_splits
    from nas_gym.meta import MetaConfig, MetaLearner

    digits = image_set_splits("digits")
    cfg = MetaConfig(method="metanas", ways=3, shots=5, queries=5, size="tiny", task_steps=1, meta_batch=1)
    learner = MetaLearner.for_pool(cfg, digits.train, seed=0)
    train, val = TaskSampler(digits.train, 3, 5, 5, seed=0), TaskSampler(digits.val, 3, 5, 5, seed=100)
    history = learner.meta_train(train, val, epochs=2, eval_every=1, val_tasks=1, val_steps=0, seed=0)
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if "meta-validation after" in ln]
    assert [n.split("after ")[1].split(" of")[0] for n in notes] == ["0", "1", "2"]
    assert f"{history.val_accuracy[-1]:.2f}" in notes[-1] and "\r" not in err
    assert err.splitlines()[-1].startswith("meta-train metanas: 2/2 meta-steps (100%), val_acc ")
    learner.meta_train(train, val, epochs=1, eval_every=1, val_tasks=1, val_steps=0, seed=0, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["0", "off"])
def test_the_environment_variable_silences_a_grid(tmp_path, capsys, monkeypatch, value):
    from nas_gym.experiments import run_grid

    monkeypatch.setenv("NAS_GYM_PROGRESS", value)
    run_grid("NB201-Cont-v0", ["rs"], 1, 5, tmp_path, progress=True)
    assert capsys.readouterr().err == ""

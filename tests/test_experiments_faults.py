"""Grid faults: hand-corrupted results files, an unwritable or full ``--out``, temporary files
left by failed or killed writes, a worker killed by the system, a main process killed by a
signal (no worker may outlive it), and an absurd query budget."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nas_gym.cli import main
from nas_gym.experiments import run_grid, summarise
from nas_gym.experiments.results import read_run, run_path, write_atomic

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; Linux signals")
ENV = "NB201-Cont-v0"


def compare_args(out: Path, *extra: str, budget: str = "20", seeds: str = "1", workers: str = "1") -> list[str]:
    return [
        "compare",
        "--env",
        ENV,
        "--agents",
        "rs",
        "--seeds",
        seeds,
        "--budget",
        budget,
        "--workers",
        workers,
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def one_line_error(capsys, *words: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("nas-gym: error:") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


# ------------------------------------------------------------------ corrupt results files


@pytest.fixture(scope="module")
def finished(tmp_path_factory, nb201_c10) -> bytes:
    """The bytes of a real finished results file of ``compare_args``'s grid."""
    out = tmp_path_factory.mktemp("finished")
    assert main(compare_args(out)) == 0
    return run_path(out, "rs", 0).read_bytes()


def _nan_best(raw: bytes) -> bytes:
    run = json.loads(raw)
    run["result"]["best_val"] = "NAN-HERE"
    return json.dumps(run).replace('"NAN-HERE"', "NaN").encode()


def _string_best(raw: bytes) -> bytes:
    run = json.loads(raw)
    run["result"]["best_val"] = "91.6"
    return json.dumps(run).encode()


CORRUPT = [
    ("list", lambda raw: b"[1, 2]", "a JSON list"),
    ("no spec", lambda raw: json.dumps({k: v for k, v in json.loads(raw).items() if k != "spec"}).encode(), "no spec"),
    ("not UTF-8", lambda raw: b"\xff\xfe" + raw, "not UTF-8"),
    ("truncated", lambda raw: raw[: len(raw) // 2], "not valid JSON"),
    ("NaN", _nan_best, "NaN"),
    ("string number", _string_best, "best_val is '91.6'"),
    ("folder", None, "a folder"),
]


@pytest.mark.parametrize("make, why", [c[1:] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_a_hand_corrupted_results_file_is_one_clear_error_naming_it(tmp_path, capsys, finished, make, why):
    path = run_path(tmp_path, "rs", 0)
    path.parent.mkdir(parents=True)
    if make is None:
        path.mkdir()
    else:
        path.write_bytes(make(finished))
    assert main(compare_args(tmp_path)) == 2
    one_line_error(capsys, str(path), why, "delete it to run that run again")
    with pytest.raises(ValueError, match="delete it"):
        summarise(tmp_path)
    if make is not None:  # deleting it, as the message says, runs it again
        path.unlink()
        assert main(compare_args(tmp_path)) == 0
        assert read_run(path)["status"] == "ok"


# ------------------------------------------------------------------ unwritable, full or odd --out


def test_an_out_below_a_file_is_named(tmp_path, capsys, raises_naming, nb201_c10):
    (tmp_path / "file").write_text("x")
    assert main(compare_args(tmp_path / "file" / "sub")) == 2
    one_line_error(capsys, "file/sub", "is a file, not a folder")
    raises_naming(lambda: run_grid(ENV, ["rs"], 1, 20, tmp_path / "file" / "a" / "b"), repr(str(tmp_path / "file")))


def test_a_read_only_out_is_refused_before_any_run(tmp_path, capsys, read_only, nb201_c10):
    out = tmp_path / "out"
    out.mkdir()
    with read_only(out):
        start = time.perf_counter()
        assert main(compare_args(out, budget="400000")) == 2  # ~20 s of searching, were it to run
        one_line_error(capsys, str(out), "cannot write results there")
        assert time.perf_counter() - start < 10
    assert not list(out.iterdir())


def _limited_compare(out: Path, max_file_bytes: int, budget: str) -> subprocess.CompletedProcess:
    """``nas-gym compare`` where no file may grow past ``max_file_bytes`` (the disk is full there)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [sys.executable, "-m", "nas_gym.cli", *compare_args(out, budget=budget)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=300,
    )


def test_a_full_out_is_found_before_any_run_and_a_failed_write_leaves_no_temporary_file(tmp_path, nb201_c10):
    full = _limited_compare(tmp_path / "full", 0, "400000")
    assert full.returncode == 2 and "cannot write results there (File too large)" in full.stderr, full.stderr
    assert full.stderr.count("\n") == 1 and not list((tmp_path / "full" / "runs").iterdir())
    # room for the probe, not for a 2000-query results file: the run's write fails and cleans up
    nearly = _limited_compare(tmp_path / "nearly", 8192, "2000")
    path = run_path(tmp_path / "nearly", "rs", 0)
    assert nearly.returncode == 1 and nearly.stderr.count("\n") == 1, nearly.stderr
    assert (
        nearly.stderr.startswith(f"nas-gym: error: cannot write {path} (File too large)")
        and "run again" in nearly.stderr
    )
    assert not list(path.parent.iterdir())


def test_temporary_files_are_removed_on_error_and_by_the_next_successful_write(tmp_path):
    path = tmp_path / "runs" / "x.json"
    with pytest.raises(TypeError):
        write_atomic(path, {"spec": object()})  # fails halfway through the JSON
    assert not list(path.parent.iterdir())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that is gone: what a killed writer leaves
    orphan = path.parent / f".x.json.{dead.pid}.tmp"
    orphan.write_bytes(b"")
    running = path.parent / f".x.json.{os.getppid()}.tmp"
    running.write_bytes(b"")  # a writer still running (another process's pid): left alone
    write_atomic(path, {"a": 1})
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([running.name, "x.json"])


# ------------------------------------------------------------------ killed processes


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid``, with its start time (to tell a reused pid apart)."""
    parent: dict[int, int] = {}
    start: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parent[int(entry.name)], start[int(entry.name)] = int(fields[1]), fields[19]
    found, frontier = {}, [pid]
    while frontier:
        p = frontier.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in found:
                found[child] = start[child]
                frontier.append(child)
    return found


def alive(procs: dict[int, str]) -> list[int]:
    out = []
    for pid, started in procs.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and fields[19] == started:
            out.append(pid)
    return out


def wait_for_workers(proc: subprocess.Popen, n: int, timeout: float = 120) -> dict[int, str]:
    """The processes below ``proc`` once ``n`` of them have the benchmark table mapped: workers
    in a run (a spawned one maps it when its first run makes the env; a forked one inherits it)."""

    def in_run(pid: int) -> bool:
        try:
            return ".npy" in Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            return False

    end = time.monotonic() + timeout
    while sum(map(in_run, found := descendants(proc.pid))) < n:
        assert proc.poll() is None, "the grid ended before its workers were seen"
        assert time.monotonic() < end, "the workers did not start in time"
        time.sleep(0.1)
    return found


GRID = (
    "import sys\nfrom nas_gym.experiments import executors, run_grid\n{setup}\n"
    "run_grid('NB201-Cont-v0', ['rs'], 4, 400000, sys.argv[1], workers=2, progress=False)\n"
)
SETUPS = {
    "spawn": "import torch  # loaded: run_grid spawns its workers (and a resource tracker)",
    # where the kernel has no parent-death signal (not Linux) the watcher thread must do it
    "watcher": "executors._death_signal = lambda signum: False  # forked workers inherit it",
}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("start", ["fork", "spawn", "watcher"])
def test_no_worker_outlives_a_killed_main_process(tmp_path, nb201_c10, sig, start):
    if start == "fork":  # the CLI forks its workers while torch is not loaded
        args = [sys.executable, "-m", "nas_gym.cli", *compare_args(tmp_path, budget="400000", seeds="4", workers="2")]
    else:
        args = [sys.executable, "-c", GRID.format(setup=SETUPS[start]), str(tmp_path)]
    # no pipes: orphans holding them would keep a reader waiting
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers = wait_for_workers(proc, 2)
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        end = time.monotonic() + 15
        while alive(workers) and time.monotonic() < end:
            time.sleep(0.1)
        left = alive(workers)
        assert not left, f"{len(left)} of {len(workers)} workers outlived the main process"
    finally:
        for pid in alive(workers):  # never leave them to the rest of the suite
            os.kill(pid, signal.SIGKILL)


def test_a_worker_killed_by_the_system_names_its_runs_and_the_grid_resumes(tmp_path, nb201_c10):
    args = [sys.executable, "-m", "nas_gym.cli", *compare_args(tmp_path, budget="400000", seeds="4", workers="2")]
    err_file = tmp_path / "stderr"
    with open(err_file, "w") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    workers = wait_for_workers(proc, 2)
    try:
        os.kill(min(workers), signal.SIGKILL)  # what the out-of-memory killer does
        proc.wait(timeout=60)
        assert not alive(workers)
    finally:
        for pid in alive(workers):
            os.kill(pid, signal.SIGKILL)
    err = err_file.read_text()
    assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for words in (
        "killed by SIGKILL",
        "out-of-memory",
        "rs seed 0",
        "rs seed 1",
        "of 4 runs finished",
        "run the grid again to resume",
    ):
        assert words in err, (words, err)


# ------------------------------------------------------------------ absurd budgets


def test_a_query_budget_whose_logs_cannot_fit_in_memory_is_refused_up_front(tmp_path, capsys, nb201_c10):
    assert main(compare_args(tmp_path, budget="1000000000")) == 2
    one_line_error(capsys, "budget 1000000000 queries", "GiB", "valid here: at most")
    assert not (tmp_path / "runs").exists()

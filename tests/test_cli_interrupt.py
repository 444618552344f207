"""Ctrl-C during ``nas-gym compare``: prompt stop, finished runs kept, exit 130, one line, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nas_gym.experiments.results import read_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and signals")


def compare(out: Path, workers: int) -> subprocess.Popen:
    # rs with 40,000 queries takes a couple of seconds a run: long enough to interrupt mid-run
    args = [
        sys.executable,
        "-m",
        "nas_gym.cli",
        "compare",
        "--env",
        "NB201-Cont-v0",
        "--agents",
        "rs",
        "--seeds",
        "6",
        "--budget",
        "40000",
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--no-progress",
    ]
    # a session of its own, so that the signal goes to the whole process group as a terminal's Ctrl-C does
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finished_runs(out: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in (out / "runs").glob("*.json")} if (out / "runs").exists() else {}


def wait_for_runs(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while len(finished_runs(out)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "no run finished in time"
        time.sleep(0.05)


@pytest.mark.parametrize("workers, presses", [(2, 5), (1, 1)])
def test_ctrl_c_stops_promptly_keeps_finished_runs_and_resumes(tmp_path, workers, presses):
    proc = compare(tmp_path, workers)
    wait_for_runs(tmp_path, 1, proc)
    for _ in range(presses):  # an impatient user presses again while the first press is handled
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.02)
    start = time.monotonic()
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"compare still running 20 s after Ctrl-C: {proc.communicate()}")
    assert time.monotonic() - start < 10
    assert proc.returncode == 130, err
    kept = finished_runs(tmp_path)
    assert 1 <= len(kept) < 6
    assert err.strip().splitlines() == [
        f"nas-gym: interrupted; {len(kept)} of 6 runs finished and are kept in {tmp_path} "
        "(run the same command again to resume)"
    ]
    assert "results:" not in out
    assert all(read_run(tmp_path / "runs" / name)["status"] == "ok" for name in kept)
    if workers == 1:
        return
    proc = compare(tmp_path, workers)  # resumes: the kept runs are not redone
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    after = finished_runs(tmp_path)
    assert len(after) == 6 and all(after[name] == mtime for name, mtime in kept.items())

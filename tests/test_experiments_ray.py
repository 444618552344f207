"""The Ray executor gives the local executor's results files, resume and summary."""

from __future__ import annotations

import json

import pytest

from nas_gym.experiments import run_grid, summarise

ray = pytest.importorskip("ray")  # installed by the dev extra; the check keeps a bare install importable

AGENTS = ["rs", "re"]


def _content(path) -> dict:
    payload = json.loads(path.read_text())
    payload.pop("wall_s")  # wall-clock time is the one field that differs between any two runs
    return payload


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_grid_matches_the_local_grid_and_resumes(tmp_path, local_ray):
    local = run_grid("NB201-Cont-v0", AGENTS, 2, 30, tmp_path / "local", workers=1, progress=False)
    remote = run_grid("NB201-Cont-v0", AGENTS, 2, 30, tmp_path / "ray", executor="ray", progress=False)
    assert [p.name for p in local] == [p.name for p in remote]
    for a, b in zip(local, remote):
        assert _content(a) == _content(b)
    assert summarise(tmp_path / "local") == summarise(tmp_path / "ray")
    # a killed grid resumes: a lost file is rerun, the others are kept as they are
    remote[1].unlink()
    kept = remote[0].stat().st_mtime_ns
    run_grid("NB201-Cont-v0", AGENTS, 2, 30, tmp_path / "ray", executor="ray", progress=False)
    assert _content(remote[1]) == _content(local[1]) and remote[0].stat().st_mtime_ns == kept


def test_executor_and_address_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown executor 'dask'.*'process', 'ray'"):
        run_grid("NB201-Cont-v0", AGENTS, 1, 10, tmp_path, executor="dask")
    with pytest.raises(ValueError, match="address 'ray://x:1' is for executor='ray'"):
        run_grid("NB201-Cont-v0", AGENTS, 1, 10, tmp_path, address="ray://x:1")


def test_cli_compare_runs_on_ray(tmp_path, local_ray, capsys):
    from nas_gym.cli import main

    out = tmp_path / "cli"
    argv = [
        "compare",
        "--env",
        "NB201-Cont-v0",
        "--agents",
        "rs",
        "--seeds",
        "2",
        "--budget",
        "15",
        "--out",
        str(out),
        "--executor",
        "ray",
        "--no-progress",
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in (out / "runs").glob("*.json")) == ["rs__seed0.json", "rs__seed1.json"]
    assert "| rs | 2 |" in capsys.readouterr().out.replace("NasGym/NB201-Cont-v0 ", "").replace("|  ", "| ")

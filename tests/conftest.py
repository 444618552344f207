"""Shared fixtures: a private cache folder for converted tables, SB3 logs kept in pytest's tmp dir,
and the real NB201 tables."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NAS_GYM_CACHE", str(tmp_path_factory.mktemp("nas-gym-cache")))
        yield


@pytest.fixture(scope="session", autouse=True)
def _sb3_logs_in_tmp(tmp_path_factory: pytest.TempPathFactory):
    """Models the tests train directly keep SB3's default logger, which makes a folder per
    ``learn()`` in the system temp dir (``$SB3_LOGDIR`` when set): here, in pytest's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3-logs")))
        yield


@pytest.fixture(scope="session")
def nb201_c10(_private_cache):
    import nas_gym

    return nas_gym.load_benchmark("nb201", dataset="cifar10")


@pytest.fixture(scope="session")
def load_script():
    """``load_script(name)``: the module of ``scripts/<name>.py`` (the scripts are no package)."""
    import importlib.util
    import sys

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the script runs
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def raises_naming():
    """``check(fn, *words)``: ``fn()`` raises ValueError whose message contains every word."""

    def check(fn, *words: str) -> None:
        with pytest.raises(ValueError) as e:
            fn()
        for w in words:
            assert w in str(e.value), (w, str(e.value))

    return check


@pytest.fixture
def read_only():
    """``with read_only(folder):`` the folder cannot be written while the block runs.

    Permission bits do not stop root, so as root the folder is bind-mounted read-only onto
    itself (a read-only file system: EROFS); otherwise its write bits are cleared (EACCES).
    """
    import contextlib
    import os
    import subprocess

    @contextlib.contextmanager
    def unwritable(folder):
        folder = str(folder)
        if os.geteuid() != 0:
            os.chmod(folder, 0o555)
            try:
                yield
            finally:
                os.chmod(folder, 0o755)
            return
        mount = subprocess.run(["mount", "--bind", folder, folder], capture_output=True, text=True)
        if mount.returncode != 0:
            pytest.skip(f"running as root without the right to mount, so no folder is read-only: {mount.stderr}")
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", folder], check=True, capture_output=True)
            yield
        finally:
            subprocess.run(["umount", folder], check=True)

    return unwritable


@pytest.fixture
def one_torch_thread():
    """Small MLPs train fastest on one thread, and two-thread torch thrashes on a busy 2-core box."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny_supernet_env(_private_cache):
    """``tiny_supernet_env()``: a new Cont env on the tiny NB201 supernet over digits (CPU, one
    epoch of pretraining, cached for the session): what the one-shot agents' tests search."""
    import gymnasium as gym
    from tiny_supernet import TINY

    import nas_gym  # noqa: F401  (registers the env ids)

    return lambda: gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, budget=50)


def pytest_collection_modifyitems(config, items):
    """GPU-marked tests run where CUDA is present and are skipped, saying so, elsewhere."""
    if not any("gpu" in item.keywords for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; none on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)

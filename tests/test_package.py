"""The distribution: a wheel built from the source holds what an installation needs (the
package, py.typed, the licence, metadata with torch behind an extra) and works installed
outside the source tree. Nothing is downloaded: the wheel is built with this environment's
setuptools and installed without dependencies into a fresh venv that borrows this one's."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_wheel(out: Path) -> Path:
    """The wheel of a copy of the project's files (so no build folder lands in the checkout)."""
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "nas_gym", src / "nas_gym", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, src],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("nas_gym-*.whl")
    return wheel


def test_the_wheel_installs_and_searches_outside_the_source_tree(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = email.message_from_bytes(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
    assert "nas_gym/py.typed" in names and "nas_gym/envs/vector.py" in names
    assert not any(n.startswith(("tests/", "scripts/", "examples/")) for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["License-Expression"] == "Apache-2.0" and meta["Requires-Python"] == ">=3.11"
    requires = meta.get_all("Requires-Dist")
    torch = [r for r in requires if r.startswith("torch")]
    assert torch and all("extra ==" in r for r in torch)  # torch only with an extra
    assert {"torch", "rl", "dev"} <= set(meta.get_all("Provides-Extra"))
    assert "Typing :: Typed" in meta.get_all("Classifier") and meta["Keywords"]

    # a venv with the wheel alone; this environment's site-packages lends the dependencies
    # (through a .pth, which does not run the .pth files there: the checkout's editable install stays out)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [python, "-c", "import nas_gym; print(nas_gym.__file__)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(site) and not Path(where).is_relative_to(ROOT)
    run = subprocess.run(
        [
            venv / "bin" / "nas-gym",
            "compare",
            "--env",
            "NB201-Cont-v0",
            "--agents",
            "rs,re",
            "--seeds",
            "1",
            "--budget",
            "20",
            "--workers",
            "1",
            "--out",
            "runs",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (elsewhere / "runs" / "summary.csv").exists() and len(
        list((elsewhere / "runs" / "runs").glob("*.json"))
    ) == 2

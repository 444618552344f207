"""Every Python and shell block of the README and of the docs pages it links runs as written.

A block may be preceded by a directive comment, `<!-- docs-test: ... -->`, holding
`;`-separated items:

- `skip: REASON`: not run (it needs what no test machine has, or is the test command itself);
- `long`: run only under `pytest -m long` (`make test-long`);
- `OLD => NEW`: run with OLD replaced by NEW (smaller settings of the same code); OLD must occur.

Blocks run in a fresh folder (with `scripts/` and `examples/` linked into it) in a new process,
with this interpreter's `bin` first on PATH and the suite's private cache.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
DIRECTIVE = re.compile(r"<!-- docs-test: (.*?) -->\s*(?:<!--.*?-->\s*)*$", re.S)


@dataclass
class Block:
    """One fenced code block and what its directive asks."""

    page: str
    line: int
    lang: str
    code: str
    skip: str | None = None
    long: bool = False
    subs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every docs page it links, and the pages those link."""
    todo, seen = [ROOT / "README.md"], []
    while todo:
        page = todo.pop(0)
        if page in seen:
            continue
        seen.append(page)
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text()):
            linked = (page.parent / target).resolve()
            assert linked.exists(), f"{page.relative_to(ROOT)} links {target}, which does not exist"
            todo.append(linked)
    return seen


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip().rsplit("\n", 3)
        directive = DIRECTIVE.search("\n".join(before[-3:]))
        block = Block(str(page.relative_to(ROOT)), text[: m.start()].count("\n") + 1, m.group(1), m.group(2))
        for item in directive.group(1).split(";") if directive else []:
            item = item.strip()
            if item.startswith("skip:"):
                block.skip = item[len("skip:") :].strip()
            elif item == "long":
                block.long = True
            elif "=>" in item:
                old, new = (s.strip() for s in item.split("=>"))
                block.subs.append((old, new))
            else:
                raise ValueError(f"{block.id}: unknown docs-test item {item!r}")
        found.append(block)
    return found


ALL = [b for page in pages() for b in blocks(page)]
RUN = [b for b in ALL if b.lang in ("python", "bash") and not b.skip]


def test_every_block_is_python_or_shell_or_says_why_it_does_not_run():
    assert len(pages()) >= 9  # the README and the pages of its table
    for b in ALL:
        assert b.lang in ("python", "bash", "text"), f"{b.id}: a ``` block that is not python, bash or text (output)"
        assert b.skip is None or len(b.skip) > 15, f"{b.id}: skipped without a reason"
    skipped = [b.id for b in ALL if b.skip]
    assert len(skipped) <= 6, skipped  # a block that could run, runs


def _params():
    return [pytest.param(b, id=b.id, marks=[pytest.mark.long] if b.long else []) for b in RUN]


@pytest.mark.parametrize("block", _params())
def test_block_runs(block: Block, tmp_path: Path) -> None:
    code = block.code
    for old, new in block.subs:
        assert old in code, f"{block.id}: {old!r} does not occur in the block"
        code = code.replace(old, new)
    for name in ("scripts", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONUNBUFFERED": "1",
    }
    if block.lang == "python":
        (tmp_path / "block.py").write_text(code)
        cmd = [sys.executable, "block.py"]
    else:
        cmd = ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (
        f"{block.id} failed:\n{code}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    if block.lang == "python" and ("print(" in code):
        assert done.stdout.strip(), f"{block.id} printed nothing"

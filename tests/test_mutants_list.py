"""The mutation check's list stays current: every mutant names code that occurs exactly once in its
file inside the checked modules, changes it into code that still parses, and names test files that exist."""

from __future__ import annotations

from conftest import SCRIPTS


def test_every_mutant_matches_the_code_once(load_script):
    script = load_script("mutants")
    root = SCRIPTS.parent
    ids = [m.id for m in script.MUTANTS]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    for m in script.MUTANTS:
        assert m.file.startswith(script.SCOPE), m.id
        code = (root / m.file).read_text()
        assert code.count(m.code) == 1, f"{m.id} is stale: update its code in scripts/mutants.py"
        compile(code.replace(m.code, m.mutated), m.file, "exec")  # a bug, not a syntax error
        assert m.mutated != m.code and m.bug and m.tests, m.id
        assert all((root / t).is_file() for t in m.tests), m.id
    for scope, wanted in (
        ("nas_gym/supernets", "test_supernet_backend"),
        ("nas_gym/agents/oneshot", "test_agents_lnas"),
        ("nas_gym/meta", "test_meta_lamanas"),
    ):
        assert f"tests/{wanted}.py" in script.related_tests(root, f"{scope}/x.py")

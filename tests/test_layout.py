"""The layout shows the pipeline: imports flow one way, and no module grows past a screenful or ten"""

import ast

import pytest
from conftest import ROOT

PACKAGE = ROOT / "digest"
# The stages that read or write the store, history or network: render/ and archive.py (values
# in, text or values out) import none of them.
IO_STAGES = ("digest.store", "digest.history", "digest.pipeline", "digest.incremental", "digest.entries", "digest.fetch",
             "digest.http", "digest.run", "digest.publish", "digest.cli", "digest.gitimport")
PURE = ("digest.render", "digest.archive", "digest.diff", "digest.topics", "digest.models", "digest.text")
MAX_LINES = 520
# Modules allowed past MAX_LINES, each with its reason.
LONGER = {
    "digest/cli.py": "ten thin commands whose option lists and help texts are most of the file",
}


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """Every digest module `path` imports, at any depth (lazy imports count too)"""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "digest" or name.startswith("digest.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", [p for p in MODULES if module_name(p).startswith(PURE)],
                         ids=lambda p: module_name(p))
def test_pure_stages_import_no_io_stage(path):
    bad = sorted(name for name in imports(path) if name.startswith(IO_STAGES))
    assert bad == [], f"{module_name(path)} imports {bad}: values flow down, never back up"


def test_core_never_imports_click():
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        if module_name(path) != "digest.cli":
            assert "click" not in names, f"{module_name(path)} imports click: only cli.py does"


def test_the_direction_check_catches_a_back_edge(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from digest.store import Store\n")
    assert "digest.store" in imports(module)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_is_too_long(path):
    rel = path.relative_to(ROOT).as_posix()
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if rel in LONGER:
        assert lines > MAX_LINES, f"{rel} is short enough now: take it off LONGER"
        return
    assert lines <= MAX_LINES, f"{rel} has {lines} lines: split it by stage, or list it in LONGER with a reason"

"""Docs are tested: every command has help and a guide, code fences balance, README commands run"""

import re
import shlex
import subprocess
import sys

import click
import pytest
from conftest import ROOT

from digest.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
# Not in hidden folders (.venv, .git, and .pytest_cache, whose README.md exists only after a
# first run: the count of checked files depended on it), nor in installed or recorded files.
MARKDOWN = sorted(p for p in ROOT.rglob("*.md")
                  if not any(part.startswith(".") or part in {"node_modules", "recorded"}
                             for part in p.relative_to(ROOT).parts))


def commands():
    yield "digest", cli
    for name, command in cli.commands.items():
        yield f"digest {name}", command


@pytest.mark.parametrize("name,command", list(commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_command_has_help_and_the_guide_covers_it(name, command):
    assert command.help and command.get_short_help_str(), f"{name} has no help text"
    if name != "digest":
        assert f"`{name}" in COMMANDS, f"docs/commands.md does not show {name}"
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in COMMANDS, f"{name} {opt} is not in docs/commands.md"
            assert param.help, f"{name} {param.opts[0]} has no help"


def test_the_command_reference_is_what_help_says():
    result = subprocess.run([sys.executable, "scripts/cli_reference.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_quick_start_commands_are_the_real_ones():
    assert "pip install . && digest demo" in README
    assert "bash scripts/test.sh" in README
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest" in (ROOT / "scripts" / "test.sh").read_text()


def test_the_readme_stays_a_front_door():
    assert len(README.encode()) <= 8 * 1024
    assert len((ROOT / "ARCHITECTURE.md").read_bytes()) <= 11 * 1024
    for target in re.findall(r"\]\(([^)#]+)", README):
        assert (ROOT / target).exists(), f"README links to missing {target}"


def fences(text):
    """Every unbalanced fence: a ``` that opens a block nobody closes"""
    opened = None
    for n, line in enumerate(text.split("\n"), 1):
        match = re.match(r"\s*(`{3,}|~{3,})", line)
        if match:
            if opened is None:
                opened = (n, match.group(1))
            elif match.group(1).startswith(opened[1]) and not line.strip()[len(match.group(1)):]:
                opened = None
    return opened


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_fences_balance(path):
    assert fences(path.read_text(encoding="utf-8")) is None, f"{path}: a code fence opened here never closes"


def test_the_fence_check_catches_an_open_fence():
    assert fences("a\n```toml\nx = 1\n## Next\n") == (2, "```")
    assert fences("```sh\nls\n```\n") is None


def readme_commands():
    """Each `digest ...` line of the README's sh blocks, without its comment"""
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            for part in line.split("&&"):
                if part.strip().startswith("digest"):
                    yield shlex.split(part.strip())


@pytest.mark.parametrize("argv", list(readme_commands()), ids=" ".join)
def test_readme_commands_parse(argv):
    """Every digest command the README shows names a real command with real options"""
    command = cli.commands[argv[1]] if len(argv) > 1 else cli
    ctx = command.make_context(argv[1] if len(argv) > 1 else "digest", argv[2:], resilient_parsing=False)
    assert ctx.command is command

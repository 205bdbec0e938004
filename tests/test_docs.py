"""Docs are tested: every command has help, every option is in the README"""

import click
import pytest

from conftest import ROOT
from digest.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands():
    yield "digest", cli
    for name, command in cli.commands.items():
        yield f"digest {name}", command


@pytest.mark.parametrize("name,command", list(commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_command_has_help_and_readme_covers_it(name, command):
    assert command.help and command.get_short_help_str(), f"{name} has no help text"
    if name != "digest":
        assert f"`{name}" in README, f"README does not show {name}"
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in README, f"{name} {opt} is not in the README"
            assert param.help, f"{name} {param.opts[0]} has no help"


def test_readme_quick_start_commands_are_the_real_ones():
    assert "pip install . && digest demo" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest" in ci

"""Write docs/cli.md, the command reference, from `digest --help` (run it after changing an option)

    python scripts/cli_reference.py          # rewrite docs/cli.md
    python scripts/cli_reference.py --check  # exit 1 when docs/cli.md is not what --help says
"""

import sys
from pathlib import Path

import click

from digest.cli import cli

TARGET = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def reference():
    """The Markdown reference: every command's --help, as click prints it"""
    parts = ["# Command reference", "",
             "Generated from `digest --help` by `python scripts/cli_reference.py`; do not edit by hand.",
             "The guide to each command is [commands.md](commands.md).", ""]
    commands = [("digest", cli)] + [(f"digest {name}", cli.commands[name]) for name in sorted(cli.commands)]
    for name, command in commands:
        parent = None if command is cli else click.Context(cli, info_name="digest")
        ctx = click.Context(command, info_name=name.split()[-1], parent=parent, terminal_width=100,
                            max_content_width=100)
        parts += [f"## `{name}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(parts)


def main(argv):
    text = reference()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is not what --help says: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

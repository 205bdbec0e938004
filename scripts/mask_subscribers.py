"""Print a GitHub Actions `::add-mask::` command for every subscriber address and name

The daily workflow runs this before `digest run`: GitHub masks a secret's whole value in
the log, but not the addresses and names parsed out of it (a subscriber list is one
secret). Prints nothing when no subscriber list is configured, and never prints the list
itself; a list that does not parse is left for `digest run` to report.

    python scripts/mask_subscribers.py [--config digest.toml]
"""

from __future__ import annotations

import argparse
import sys

from digest.config import load_config
from digest.errors import DigestError
from digest.publish.subscribers import load_subscribers


def mask_commands(config, env=None):
    """One ::add-mask:: line per distinct address and name in the configured list"""
    subscribers = load_subscribers(config.email, env) or ()
    values = dict.fromkeys(v for s in subscribers for v in (s.email, s.name) if v)
    # A value with a line break would end the command early; no such value reaches here
    # (addresses are checked, names are single-line TOML/JSON strings), but be sure.
    return [f"::add-mask::{v}" for v in values if "\n" not in v and "\r" not in v]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="config file (default: ./digest.toml when present)")
    args = parser.parse_args(argv)
    try:
        lines = mask_commands(load_config(args.config))
    except DigestError:
        print("warning: the subscriber list could not be read; digest run will say why", file=sys.stderr)
        return 0
    for line in lines:
        print(line)
    print(f"masked {len(lines)} subscriber values", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

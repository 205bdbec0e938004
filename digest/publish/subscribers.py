"""The subscriber list: read from a file or an environment variable, checked, never committed"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

from digest.config import check_address
from digest.errors import EmailSetupError
from digest.render.selection import Subscriber

SUBSCRIBER_KEYS = {"email", "name", "keywords", "authors", "organizations", "min_upvotes", "send_when_empty"}


def load_subscribers(settings, env=None):
    """The subscriber list from [email] subscribers_file or the variable named by subscribers_env

    Returns None when neither is configured. `settings` is a loaded [email]: a relative
    subscribers_file is relative to the config file already.
    """
    env = os.environ if env is None else env
    settings.check_subscriber_source()
    if settings.subscribers_env:
        name = settings.subscribers_env
        text = env.get(name)
        if not text or not text.strip():
            raise EmailSetupError(f"the environment variable {name} (named by [email] subscribers_env) is not set")
        return parse_subscribers(text, f"subscribers from ${name}", settings.send_when_empty)
    if settings.subscribers_file:
        path = Path(settings.subscribers_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise EmailSetupError(f"{path}: subscribers file not found ([email] subscribers_file)") from None
        except (OSError, UnicodeDecodeError) as e:
            raise EmailSetupError(f"{path}: cannot read the subscribers file ({e})") from None
        if tracked_by_git(path):
            raise EmailSetupError(
                f"{path}: the subscriber list is tracked by git; keep it out of the repository"
                " (git rm --cached it) and, in CI, pass it through subscribers_env"
            )
        return parse_subscribers(text, str(path), settings.send_when_empty)
    return None


def tracked_by_git(path):
    """True when path is in a git repository's index (so it would be committed and pushed)"""
    try:
        result = subprocess.run(
            ["git", "-C", str(path.parent), "ls-files", "--error-unmatch", "--", path.name],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False  # no git: nothing to commit it with
    return result.returncode == 0


def parse_subscribers(text, where, send_when_empty=False):
    """Subscribers from TOML ([[subscribers]] tables) or JSON ({"subscribers": [...]})

    JSON when the first non-blank character is '{' (a TOML document cannot start so).
    """
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise EmailSetupError(f"{where}: invalid JSON ({e})") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise EmailSetupError(f"{where}: invalid TOML ({e})") from None
    if not isinstance(data, dict) or set(data) - {"subscribers"}:
        raise EmailSetupError(f"{where}: expected only a 'subscribers' list ([[subscribers]] in TOML)")
    raw = data.get("subscribers", [])
    if not isinstance(raw, list):
        raise EmailSetupError(f"{where}: 'subscribers' should be a list")
    subscribers, seen = [], {}
    for position, item in enumerate(raw, start=1):
        sub = _subscriber(item, position, f"{where}: subscriber {position}", send_when_empty)
        key = sub.email.lower()
        if key in seen:
            raise EmailSetupError(f"{where}: subscriber {position} has the same address as subscriber {seen[key]}")
        seen[key] = position
        subscribers.append(sub)
    return tuple(subscribers)


def _subscriber(item, position, where, send_when_empty):
    if not isinstance(item, dict):
        raise EmailSetupError(f"{where}: should be a table with at least 'email'")
    unknown = sorted(set(item) - SUBSCRIBER_KEYS)
    if unknown:
        raise EmailSetupError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(SUBSCRIBER_KEYS))})")
    address = item.get("email")
    if not isinstance(address, str):
        raise EmailSetupError(f"{where}: 'email' is missing")
    check_address(address.strip(), where)

    def strings(key):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise EmailSetupError(f"{where}: {key} should be a list of non-empty strings")
        return tuple(v.strip() for v in value)

    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise EmailSetupError(f"{where}: name should be a string")
    min_upvotes = item.get("min_upvotes", 0)
    if isinstance(min_upvotes, bool) or not isinstance(min_upvotes, int) or min_upvotes < 0:
        raise EmailSetupError(f"{where}: min_upvotes should be a whole number, 0 or more")
    when_empty = item.get("send_when_empty", send_when_empty)
    if not isinstance(when_empty, bool):
        raise EmailSetupError(f"{where}: send_when_empty should be true or false")
    return Subscriber(
        email=address.strip(),
        name=name,
        keywords=strings("keywords"),
        authors=strings("authors"),
        organizations=strings("organizations"),
        min_upvotes=min_upvotes,
        send_when_empty=when_empty,
        position=position,
    )

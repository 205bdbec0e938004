"""Config: digest.toml plus the environment (secrets come only from the environment)"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from digest.errors import ConfigError

DEFAULT_CONFIG = "digest.toml"


@dataclass(frozen=True)
class TrendingSettings:
    """Knobs of the trending score (README: "How trending is scored")"""

    upvote_weight: float = 1.0
    rank_weight: float = 0.5
    persistence_weight: float = 0.25
    min_score: float = 1.0
    max_items: int = 20
    # A paper trends only on a real signal: at least this many upvotes gained between two
    # observations that differ, or this many places climbed on a listing that ranks across days.
    min_upvote_gain: int = 3
    min_rank_climb: int = 3


@dataclass(frozen=True)
class DigestSettings:
    """What a day's digest shows"""

    top_items: int = 10
    summary_sentences: int = 2
    max_authors: int = 3


@dataclass(frozen=True)
class FetchSettings:
    """What `digest fetch` fetches, from where, and how patiently (README: "digest fetch")"""

    listings: tuple[str, ...] = ("hf-daily", "hf-trending", "arxiv:cs.CL")
    hf_base_url: str = "https://huggingface.co"
    arxiv_base_url: str = "https://rss.arxiv.org"
    window_days: int = 7
    catch_up_days: int = 7
    page_size: int = 50
    max_pages: int = 20
    arxiv_cross_lists: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0
    hf_min_interval: float = 0.5
    arxiv_min_interval: float = 3.0
    max_response_bytes: int = 20_000_000
    request_deadline: float = 60.0  # seconds for one request, body included
    fetch_deadline: float = 600.0  # seconds for the whole fetch, retries and pauses included
    max_redirects: int = 5
    redirect_origins: tuple[str, ...] = ()  # other scheme://host[:port] a redirect may lead to


@dataclass(frozen=True)
class EmailSettings:
    """The newsletter email and its delivery (README: "Email"); secrets are named, not stored"""

    from_address: str | None = None
    from_name: str | None = None
    base_url: str | None = None
    day_url: str = "{base_url}/day/{date}.html"  # the site's page of a day (digest/render/pages.py)
    list_id: str | None = None
    unsubscribe_mailto: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_one_click: bool = False
    max_papers: int = 30
    send_when_empty: bool = False
    subscribers_file: str | None = None
    subscribers_env: str | None = None
    salt_env: str = "DIGEST_LEDGER_SALT"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username_env: str = "DIGEST_SMTP_USERNAME"
    smtp_password_env: str = "DIGEST_SMTP_PASSWORD"
    smtp_ca_file: str | None = None
    smtp_timeout: float = 30.0
    rate_limit: float = 5.0


# Characters a tag: URI may hold unescaped (RFC 4151): a site id goes into every feed GUID.
SITE_ID = re.compile(r"[A-Za-z0-9._~:/-]{1,200}")


@dataclass(frozen=True)
class SiteSettings:
    """The static site and its feeds (README: "The site and feeds")"""

    base_url: str = "http://127.0.0.1:8000/"
    subscribe_url: str | None = None
    feed_items: int = 30
    feed_days: int = 7
    # What feed GUIDs are made from (digest/render/feeds.py): unset, GITHUB_REPOSITORY when set
    # (load_config), else base_url's host and path.
    site_id: str | None = None
    search: bool = True
    # A topic is listed on the topics index from this many papers (every topic of two or
    # more papers has a page, linked from its papers' pages).
    topics_min_papers: int = 5
    # Names readers see for listings, over the built-in ones ("hf-daily" -> "Hugging Face Daily Papers").
    listing_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        from digest.text import safe_url

        if not safe_url(self.base_url):
            raise ConfigError(f"[site] base_url {self.base_url!r} is not an absolute http(s) URL")
        url = self.subscribe_url
        if url is not None and not (
            safe_url(url) or (url.startswith("mailto:") and "@" in url and not any(c in url for c in ' <>"\n'))
        ):
            raise ConfigError(f"[site] subscribe_url {url!r} should be an http(s) link or a mailto: address")
        if self.feed_items < 1:
            raise ConfigError("[site] feed_items must be at least 1")
        if self.topics_min_papers < 1:
            raise ConfigError("[site] topics_min_papers must be at least 1")
        for listing, name in self.listing_names.items():
            if not name.strip():
                raise ConfigError(f"[site] listing_names: the name of {listing!r} is empty")
        if self.site_id is not None and not SITE_ID.fullmatch(self.site_id):
            raise ConfigError(
                f"[site] site_id {self.site_id!r} should be letters, digits and . _ ~ - / : only"
                " (like 'github.com/you/digest')"
            )


# Each [table] of digest.toml and the settings class that reads it. A new section is a
# frozen dataclass with defaults, an entry here, and a field of the same name on Config.
SECTIONS = {
    "trending": TrendingSettings,
    "digest": DigestSettings,
    "fetch": FetchSettings,
    "email": EmailSettings,
    "site": SiteSettings,
}


@dataclass(frozen=True)
class Config:
    """Everything a command needs to know, read once at start"""

    data_dir: Path = Path("data")
    title: str = "Daily Papers digest"
    trending: TrendingSettings = field(default_factory=TrendingSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
    source_path: Path | None = None


def load_config(path=None, data_dir=None, env=None):
    """Read digest.toml (the given path, else ./digest.toml when present) and apply overrides

    The data directory is `data_dir`, else DIGEST_DATA_DIR, else `data_dir` in the
    file (relative to the file), else ./data.
    """
    env = os.environ if env is None else env
    raw, source = {}, None
    if path is not None or Path(DEFAULT_CONFIG).is_file():
        source = Path(path or DEFAULT_CONFIG)
        try:
            raw = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: config file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{source}: cannot read config ({e})") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{source}: invalid TOML ({e})") from None
    where = str(source) if source else "config"
    _reject_unknown(raw, {"data_dir", "title", *SECTIONS}, where)
    if data_dir is None:
        data_dir = env.get("DIGEST_DATA_DIR") or None
    if data_dir is None and "data_dir" in raw:
        data_dir = source.parent / _typed(raw, "data_dir", str, where)
    sections = {name: _section(raw, name, cls, where) for name, cls in SECTIONS.items()}
    repository = env.get("GITHUB_REPOSITORY")
    if sections["site"].site_id is None and repository and SITE_ID.fullmatch(repository):
        # Unique to a fork, and the same on every run of its workflow (feed GUIDs stay put).
        sections["site"] = replace(sections["site"], site_id=f"github.com/{repository}")
    return Config(
        data_dir=Path(data_dir or "data"),
        title=_typed(raw, "title", str, where) if "title" in raw else Config.title,
        source_path=source,
        **sections,
    )


def _section(raw, name, cls, where):
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}] should be a table")
    _reject_unknown(table, {f.name for f in fields(cls)}, f"{where} [{name}]")
    values = {}
    for f in fields(cls):
        if f.name in table:
            values[f.name] = _setting(table, f, f"{where} [{name}]")
    try:
        return cls(**values)
    except ConfigError as e:
        # A section may check its values together (__post_init__); say which file.
        raise ConfigError(f"{where}: {e}") from None


def _setting(table, f, where):
    """Read one setting, checked against the annotation of its dataclass field"""
    if f.type == "float":
        value = float(_typed(table, f.name, (int, float), where))
    elif f.type == "int":
        value = _typed(table, f.name, int, where)
    elif f.type == "bool":
        value = table[f.name]
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {f.name} should be true or false")
        return value
    elif f.type == "str" or f.type == "str | None":
        return _typed(table, f.name, str, where)
    elif f.type == "dict[str, str]":
        value = table[f.name]
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f'{where}: {f.name} should be a table of strings (like {{"hf-daily" = "..."}})')
        return dict(value)
    elif f.type.startswith("tuple[str"):
        value = table[f.name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {f.name} should be a list of strings")
        return tuple(value)
    else:
        raise ConfigError(f"{where}: {f.name} has an unsupported type {f.type}")
    if value < 0:
        raise ConfigError(f"{where}: {f.name} must not be negative")
    return value


def _typed(table, key, kind, where):
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{where}: {key} has the wrong type ({type(value).__name__})")
    return value


def _reject_unknown(table, known, where):
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")

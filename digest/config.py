"""Config: digest.toml plus the environment (secrets come only from the environment)"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from digest.errors import ConfigError, EmailSetupError
from digest.text import mask_address, safe_url

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


# An address we can put in a header and an SMTP envelope.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
SMTP_SECURITY = ("starttls", "tls")


def check_address(address, what):
    """An address we can put in a header and an SMTP envelope: plain ASCII, one @, no spaces"""
    if not isinstance(address, str) or not _ADDRESS.match(address) or ".." in address:
        shown = repr(mask_address(address) if isinstance(address, str) and "@" in address else address)
        raise EmailSetupError(f"{what}: {shown} is not an email address (ASCII, like name@example.org)")
    return address


@dataclass(frozen=True)
class EmailSettings:
    """The newsletter email and its delivery (README: "Email"); secrets are named, not stored

    Every value is checked here, when the settings are made (EmailSetupError, exit 20), so
    the renderer and the mailer trust them. What only sending needs (a sender, an unsubscribe
    route, a subscriber list, an SMTP host) is checked by check_sendable.
    """

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
    subscribers_file: str | None = None  # relative to the config file (load_config resolves it)
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

    def __post_init__(self):
        if self.from_address is not None:
            check_address(self.from_address, "[email] from_address")
        self.day_page(dt.date(2000, 1, 1), probe=True)
        if self.unsubscribe_mailto:
            check_address(self.unsubscribe_mailto, "[email] unsubscribe_mailto")
        url = self.unsubscribe_url
        if url is not None:
            probe = url.replace("{email}", "x")
            if not probe.lower().startswith("https://") or not safe_url(probe) or any(c in probe for c in '<>,"'):
                raise EmailSetupError(f"[email] unsubscribe_url: {url!r} is not an https URL")
        if self.unsubscribe_one_click and not url:
            raise EmailSetupError(
                "[email] unsubscribe_one_click needs unsubscribe_url: an https endpoint that"
                " accepts the POST (a static site cannot)"
            )
        if self.smtp_security not in SMTP_SECURITY:
            raise EmailSetupError(
                f"[email] smtp_security: {self.smtp_security!r} should be 'starttls' (port 587)"
                " or 'tls' (implicit TLS, port 465)"
            )
        if not 0 < self.smtp_port < 65536:
            raise EmailSetupError(f"[email] smtp_port: {self.smtp_port} is not a port number")

    def day_page(self, day, probe=False):
        """The site's page of `day` ('view in browser'), or None without a base_url

        With probe, the day_url template is checked even without a base_url (the daily run
        may set one from the site's).
        """
        base = self.base_url or ("https://example.org" if probe else None)
        if not base:
            return None
        try:
            url = self.day_url.format(base_url=base.rstrip("/"), date=day.isoformat())
        except (KeyError, IndexError, ValueError) as e:
            raise EmailSetupError(
                f"[email] day_url: {self.day_url!r} can only use {{base_url}} and {{date}} ({e})"
            ) from None
        if self.base_url and not safe_url(url):
            raise EmailSetupError(f"[email] base_url/day_url: {url!r} is not an http(s) URL")
        return url

    def check_subscriber_source(self):
        """At most one subscriber list: checked when the list is read, not at load, because
        digest.example.toml shows both as alternatives and must load with every line uncommented"""
        if self.subscribers_file and self.subscribers_env:
            raise EmailSetupError("[email]: set subscribers_file or subscribers_env, not both")

    def check_sendable(self, deliver=True):
        """The rules of sending (not of writing .eml files): a sender, an unsubscribe route, readers

        With deliver (not a dry run), also an SMTP host and its CA file, when one is named.
        """
        if not self.from_address:
            raise EmailSetupError("[email] from_address is not set: who is the email from?")
        if not (self.unsubscribe_mailto or self.unsubscribe_url):
            raise EmailSetupError(
                "[email] set unsubscribe_mailto or unsubscribe_url: every email must say how to"
                " unsubscribe (List-Unsubscribe)"
            )
        if not (self.subscribers_file or self.subscribers_env):
            raise EmailSetupError("[email] set subscribers_file or subscribers_env: there is no one to send to")
        if deliver:
            if not self.smtp_host:
                raise EmailSetupError("[email] smtp_host is not set: where should the email go?")
            if self.smtp_ca_file and not Path(self.smtp_ca_file).is_file():
                raise EmailSetupError(f"[email] smtp_ca_file: {self.smtp_ca_file} not found")


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
    subscribers_file = sections["email"].subscribers_file
    if subscribers_file and source is not None:
        # Relative to the file that names it, as data_dir is; the mailer takes the path as is.
        path = Path(subscribers_file).expanduser()
        if not path.is_absolute():
            sections["email"] = replace(sections["email"], subscribers_file=str(source.parent / path))
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
        # A section may check its values together (__post_init__); say which file, keeping
        # the kind of error (an [email] mistake exits 20, as when sending).
        raise type(e)(f"{where}: {e}") from None


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

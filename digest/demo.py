"""The demo: the bundled sample history, imported and rendered, offline and with no config"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from digest.config import Config
from digest.errors import StoreError
from digest.history import load_history
from digest.pipeline import digest_for
from digest.render.markdown import render_markdown
from digest.store import Store, dump_json, write_atomic

SAMPLE = Path(__file__).resolve().parent / "sample"


@dataclass(frozen=True)
class DemoResult:
    data_dir: Path
    snapshots: int
    outputs: tuple[tuple[str, Path], ...]


def sample_files():
    """The bundled sample snapshots (real Hugging Face data, converted to our format)"""
    files = sorted(SAMPLE.glob("*/*.json"))
    if not files:
        raise StoreError(f"the bundled sample data is missing from {SAMPLE} (broken install?)")
    return files


def run_demo(out):
    """Import the sample into out/data and write every output that exists for it"""
    out = Path(out)
    store = Store(out / "data")
    files = sample_files()
    for path in files:
        store.save(store.load_path(path))
    config = Config(data_dir=store.root, title="Daily Papers digest (demo)")
    history = load_history(store)
    days = history.days()
    for day in days:
        digest = digest_for(config, day, history=history)
        write_atomic(out / "markdown" / f"{day}.md", render_markdown(digest, config))
        write_atomic(out / "json" / f"{day}.json", dump_json(digest.to_dict()))
    latest = days[-1]
    from digest.publish.site import build_site

    build_site(config, out / "site")
    outputs = (
        ("snapshots", store.snapshots),
        ("markdown", out / "markdown" / f"{latest}.md"),
        ("json", out / "json" / f"{latest}.json"),
        ("site", out / "site" / "index.html"),
        ("feeds", out / "site" / "feeds"),
    )
    outputs += _demo_email(config, history, latest, out / "email")
    return DemoResult(data_dir=store.root, snapshots=len(files), outputs=outputs)


def _demo_email(config, history, day, folder):
    """The latest day's email for one unfiltered reader, as .eml and an .html preview"""
    from dataclasses import replace

    from digest.config import EmailSettings
    from digest.render.email import EmailRenderer
    from digest.render.selection import Subscriber

    config = replace(
        config,
        email=EmailSettings(
            from_address="digest@example.org",
            base_url="https://example.org/digest",
            unsubscribe_mailto="unsubscribe@example.org",
        ),
    )
    # No salt: the demo's Message-ID must not depend on the environment.
    message = EmailRenderer.of(digest_for(config, day, history=history), config, salt=None).render(
        Subscriber("reader@example.org", name="Demo Reader")
    )
    eml, html = folder / f"{day}.eml", folder / f"{day}.html"
    write_atomic(eml, message.data)
    write_atomic(html, message.html)
    return (("email", eml), ("email html", html))

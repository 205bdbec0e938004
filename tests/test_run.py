"""digest run: fetch -> site -> email against local servers, its report, exit codes and secrets"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import smtp_server
from conftest import ROOT
from server import Fault, Server, refused_url
from smtp_server import HOST, USER, SmtpServer, make_certificate
from test_workflows import publish

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

DAY = dt.date(2026, 8, 21)
PASSWORD = "pw-Zq8#recognisable-SMTP-secret-4471"
SALT = "salt-Kx9!recognisable-ledger-secret-0032"
ADDRESSES = ["ada@example.org", "bo@example.net"]


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def servers(cert, monkeypatch):
    monkeypatch.setattr(smtp_server, "PASSWORD", PASSWORD)  # what the SMTP server accepts
    with Server() as hf, Server() as arxiv, SmtpServer(*cert) as smtp:
        publish(hf)
        for n in range(1, 32):  # every other day of August: nothing published
            hf.sources.daily.setdefault(f"2026-08-{n:02d}", [])
        arxiv.sources.feeds = dict(hf.sources.feeds)
        yield hf, arxiv, smtp


def write_config(folder, smtp, cert, email=True):
    text = 'title = "Daily Papers"\n[fetch]\nhf_min_interval = 0\narxiv_min_interval = 0\nretries = 0\n'
    if email:
        text += ('[email]\nfrom_address = "papers@digest.example.org"\n'
                 'unsubscribe_mailto = "unsubscribe@digest.example.org"\nsubscribers_env = "DIGEST_SUBSCRIBERS"\n'
                 f'smtp_host = "{HOST}"\nsmtp_port = {smtp.port}\nsmtp_ca_file = "{cert[0]}"\nrate_limit = 0\n')
    (Path(folder) / "digest.toml").write_text(text)


def digest_run(folder, hf, arxiv, *args, password=PASSWORD, summary=True):
    """`digest run` in a child process, as CI runs it; returns (exit code, stdout, stderr, summary text)"""
    folder = Path(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "GITHUB_"))}
    env.update(PYTHONPATH=str(ROOT), DIGEST_HF_BASE_URL=hf.url, DIGEST_ARXIV_BASE_URL=arxiv.url,
               DIGEST_SUBSCRIBERS=json.dumps({"subscribers": [{"email": a} for a in ADDRESSES]}),
               DIGEST_LEDGER_SALT=SALT, DIGEST_SMTP_USERNAME=USER, DIGEST_SMTP_PASSWORD=password)
    summary_file = folder / "step-summary.md"
    if summary:
        env["GITHUB_STEP_SUMMARY"] = str(summary_file)
    done = subprocess.run([sys.executable, "-m", "digest", "run", "--date", DAY.isoformat(),
                           "--base-url", "https://example.org/papers/", *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr, summary_file.read_text() if summary_file.exists() else ""


def every_file(folder):
    return [p for p in Path(folder).rglob("*") if p.is_file()]


def test_a_run_fetches_builds_sends_and_reports(tmp_path, servers, cert):
    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert)
    code, out, err, summary = digest_run(tmp_path, hf, arxiv)
    assert code == 0, (out, err)
    assert (tmp_path / "data" / "snapshots" / "hf-daily" / f"{DAY}.json").is_file()
    assert (tmp_path / "site" / "index.html").is_file()
    assert sorted(smtp.mailbox.received()) == sorted(ADDRESSES)
    # The email's "view in browser" link is the site's page of the day, which was built.
    message = smtp.mailbox.received()[ADDRESSES[0]][0]
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"View in your browser: (\S+)", text).group(1)
    assert link == f"https://example.org/papers/day/{DAY}.html"
    assert (tmp_path / "site" / link.removeprefix("https://example.org/papers/")).is_file()
    # The report names what each step did.
    assert out.startswith(f"digest run {DAY}\n")
    assert ("fetch hf-daily     catch-up 2026-08-14…2026-08-20: 5 days, 116 papers; no papers published "
            f"2026-08-15…2026-08-16: 2 days; list {DAY}: 17 papers; re-observation {DAY} hf-daily-recent: 115 papers"
            in out)
    assert "fetch arxiv:cs.CL" in out
    assert "2 sent, 0 already sent" in out and re.search(r"\n  result +OK\n$", out)
    assert "new" in out and "pages (" in out
    # The job summary: the report as a table, then the day's digest as Markdown.
    assert summary.startswith(f"## digest run {DAY}: OK\n\n| step | result |")
    digest_md = subprocess.run([sys.executable, "-m", "digest", "markdown", "--date", DAY.isoformat()],
                               cwd=tmp_path, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert digest_md and digest_md in summary

    # Again: every list is the same, so no snapshot is rewritten and nobody gets a second email.
    stamps = {p: p.stat().st_mtime_ns for p in every_file(tmp_path / "data" / "snapshots")}
    code, out, err, _ = digest_run(tmp_path, hf, arxiv)
    assert code == 0, (out, err)
    assert {p: p.stat().st_mtime_ns for p in every_file(tmp_path / "data" / "snapshots")} == stamps
    assert "(unchanged)" in out and "0 sent, 2 already sent" in out
    assert len(smtp.mailbox.messages) == 2


def test_secrets_stay_out_of_everything_a_run_prints_or_writes(tmp_path, servers, cert):
    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert)
    code, out, err, summary = digest_run(tmp_path, hf, arxiv)
    assert code == 0, (out, err)
    assert len(smtp.mailbox.messages) == 2 and smtp.mailbox.logins == [True]  # the password was used
    # A refused login (wrong password) is reported without the password either.
    (tmp_path / "data" / "sent").rename(tmp_path / "sent-before")
    wrong = PASSWORD + "-wrong"
    code2, out2, err2, summary2 = digest_run(tmp_path, hf, arxiv, password=wrong)
    assert code2 == 23, (out2, err2)
    assert "refused the login" in err2
    written = [p.read_bytes() for folder in ("site", "data", "sent-before") for p in every_file(tmp_path / folder)]
    assert len(written) > 20
    texts = [out, err, summary, out2, err2, summary2]
    for secret in (PASSWORD, wrong, SALT):
        assert not any(secret in t for t in texts)
        assert not any(secret.encode() in data for data in written)
    # Addresses come from a secret too: the output shows them masked, the ledger hashed.
    for address in ADDRESSES:
        assert not any(address in t for t in texts)
        assert not any(address.encode() in data for data in written)


def test_a_failed_fetch_still_builds_the_site_and_sends_nothing(tmp_path, servers, cert):
    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert)
    code, out, err, _ = digest_run(tmp_path, hf, arxiv)
    assert code == 0, (out, err)
    index = (tmp_path / "site" / "index.html").read_bytes()
    (tmp_path / "site" / "index.html").unlink()

    # The next day HF answers 503 to everything: arXiv is still stored, the site rebuilt.
    hf.sources.queue("/api/daily_papers", *[Fault(503, b"down") for _ in range(50)])
    done = digest_run(tmp_path, hf, arxiv, "--date", "2026-08-22")  # the later --date wins
    code, out, err, summary = done
    assert code == 9, (out, err)  # some listings failed, the others were stored
    assert re.search(r"\n  fetch hf-daily +FAILED: http://127\.0\.0\.1:\d+/api/daily_papers\?date=2026-08-15", out)
    assert re.search(r"\n  result +FAILED \(exit 9\): fetch failed\n", out)
    assert re.search(r"\n  email +not sent: the fetch failed; run again for 2026-08-22", out)
    assert (tmp_path / "site" / "index.html").is_file() and index
    assert len(smtp.mailbox.messages) == 2  # only the first day's
    assert summary.count("## digest run") == 2 and "failed (exit 9)" in summary


def test_every_listing_failing_is_a_network_failure(tmp_path, servers, cert):
    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert, email=False)
    code, out, err, _ = digest_run(tmp_path, hf, arxiv)
    assert code == 0, (out, err)
    assert re.search(r"\n  email +not configured", out)
    dead = type("Dead", (), {"url": refused_url()})()
    today = dt.datetime.now(dt.UTC).date().isoformat()  # a past day would skip arXiv and trending
    code, out, err, _ = digest_run(tmp_path, dead, dead, "--date", today)
    assert code == 7, (out, err)
    assert "Error: fetch: every listing failed" in err
    assert (tmp_path / "site" / "index.html").is_file()


def test_a_refused_recipient_is_a_delivery_failure(tmp_path, servers, cert):
    hf, arxiv, smtp = servers
    smtp.mailbox.reject.add(ADDRESSES[1])
    write_config(tmp_path, smtp, cert)
    code, out, err, _ = digest_run(tmp_path, hf, arxiv)
    assert code == 24, (out, err)
    assert "1 sent, 0 already sent, 0 skipped (nothing matches), 1 failed" in out
    assert "email FAILED" in out and "b…@example.net" in out
    assert sorted(smtp.mailbox.received()) == [ADDRESSES[0]]


def test_a_day_without_papers_is_success(tmp_path, servers, cert):
    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert, email=False)
    # Only the weekend's (empty) list: nothing new, and that is not an error.
    code, out, err, summary = digest_run(tmp_path, hf, arxiv, "--date", "2026-08-16")
    assert code == 0, (out, err)
    assert re.search(r"\n  fetch hf-daily +no papers published 2026-08-09…2026-08-16: 6 days; catch-up", out)


def test_the_email_links_to_the_configured_site_without_base_url(tmp_path):
    from digest.config import load_config
    from digest.run import _configured_site_url

    assert _configured_site_url(load_config(env={}, path=write_plain(tmp_path, ""))) is None
    config = load_config(path=write_plain(tmp_path, '[site]\nbase_url = "https://papers.example.net/"\n'), env={})
    assert _configured_site_url(config) == "https://papers.example.net/"


def write_plain(folder, text):
    path = Path(folder) / "digest.toml"
    path.write_text(text)
    return path


def test_run_json_reports_what_the_edition_announces(tmp_path, servers, cert):
    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert, email=False)
    code, out, err, _ = digest_run(tmp_path, hf, arxiv, "--json", summary=False)
    assert code == 0, (out, err)
    report = json.loads(out)  # one JSON object, nothing else on standard output
    assert report["day"] == DAY.isoformat() and report["result"] == "ok" and report["exit_code"] == 0
    diff = json.loads(subprocess.run([sys.executable, "-m", "digest", "diff", "--date", DAY.isoformat(), "--json"],
                                     cwd=tmp_path, capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
    assert report["announced"] == {"new": [i["id"] or i["key"] for i in diff["new"]],
                                   "trending": [t["id"] or t["key"] for t in diff["trending"]]}
    # The first run caught up Aug 14 to 20: this edition announces every paper the server listed.
    served = {i["paper"]["id"] for day, items in hf.sources.daily.items()
              if "2026-08-14" <= day <= DAY.isoformat() for i in items}
    assert served and served <= set(report["announced"]["new"])
    assert {s["what"] for f in report["fetch"] for s in f["stored"]} >= {"catch-up", "list"}
    # Again: the same edition, nothing announced twice.
    code, out, err, _ = digest_run(tmp_path, hf, arxiv, "--json", summary=False)
    assert code == 0 and json.loads(out)["announced"] == report["announced"]


def test_a_daily_run_loads_the_history_once_and_shares_one_digest(tmp_path, servers, cert, monkeypatch):
    """The report, the site and the email get the same Digest, computed from one history load"""
    import digest.history
    import digest.incremental
    import digest.render.email
    from digest.config import load_config
    from digest.run import run_daily

    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert)
    loads, site_days, rendered = [], [], []
    real_records = digest.history.history_from_records
    monkeypatch.setattr(digest.history, "history_from_records", lambda r: loads.append(1) or real_records(r))
    real_digest = digest.incremental.make_digest
    monkeypatch.setattr(digest.incremental, "make_digest",
                        lambda day, *a, **k: site_days.append(day) or real_digest(day, *a, **k))
    real_init = digest.render.email.EmailRenderer.__init__

    def renderer(self, day_digest, *args, **kwargs):
        rendered.append(day_digest)
        real_init(self, day_digest, *args, **kwargs)

    monkeypatch.setattr(digest.render.email.EmailRenderer, "__init__", renderer)
    env = {"DIGEST_HF_BASE_URL": hf.url, "DIGEST_ARXIV_BASE_URL": arxiv.url,
           "DIGEST_SUBSCRIBERS": json.dumps({"subscribers": [{"email": a} for a in ADDRESSES]}),
           "DIGEST_LEDGER_SALT": SALT, "DIGEST_SMTP_USERNAME": USER, "DIGEST_SMTP_PASSWORD": PASSWORD}
    monkeypatch.chdir(tmp_path)
    config = load_config(tmp_path / "digest.toml", data_dir=tmp_path / "data", env=env)
    now = dt.datetime.combine(DAY, dt.time(6), dt.UTC)
    report = run_daily(config, DAY, out=tmp_path / "site", base_url="https://example.org/papers/", env=env, now=now)
    assert report.error is None and report.send.count("sent") == 2
    assert len(loads) == 1  # one history for the report, the site and the email
    assert DAY not in site_days and site_days  # the site took the run's digest of the day, computed the rest
    assert rendered and all(d is report.digest for d in rendered)  # the email rendered that same object

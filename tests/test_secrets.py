"""Secrets never printed: every failure path of `digest send` and `digest run`, with recognisable secrets

The SMTP username, password and ledger salt are set to values no other text contains. Each
failure (refused login, no STARTTLS, unreachable, untrusted certificate, a 550 recipient, a
connection that drops and does not come back) runs as CI runs it, in a child process with
$GITHUB_STEP_SUMMARY set; then stdout, stderr, the step summary and every file in the data
and out folders are searched for each secret.
"""

from __future__ import annotations

import pytest
import smtp_server
from server import Server
from smtp_server import Mailbox, SmtpServer, free_port
from test_run import ADDRESSES, DAY, cert, write_config  # noqa: F401 (cert is a fixture)
from test_workflows import publish

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

USERNAME = "user-Vw3$recognisable-SMTP-login-8812"
PASSWORD = "pw-Tb5&recognisable-SMTP-secret-2290"
SALT = "salt-Hj7*recognisable-ledger-secret-5561"
SECRETS = (USERNAME, PASSWORD, SALT)


class NeverBack(Mailbox):
    """Takes one message, drops the connection, and refuses every connection after that"""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.messages and not any(p is server for p in self.protocols):
            server.transport.close()
            return responses
        return await super().handle_EHLO(server, session, envelope, hostname, responses)


# case -> (server mode, mailbox, exit code, password sent, CA trusted, server running)
CASES = {
    "refused login": ("starttls", Mailbox, 23, PASSWORD + "-wrong", True, True),
    "no STARTTLS": ("plain", Mailbox, 22, PASSWORD, True, True),
    "unreachable": ("starttls", Mailbox, 21, PASSWORD, True, False),
    "untrusted certificate": ("starttls", Mailbox, 22, PASSWORD, False, True),
    "550 recipient": ("starttls", lambda: Mailbox(reject={ADDRESSES[1]}), 24, PASSWORD, True, True),
    "dropped connection": ("starttls", lambda: NeverBack(drop_after=1), 21, PASSWORD, True, True),
}


@pytest.fixture
def accepts_the_secrets(monkeypatch):
    # What the SMTP server's authenticator accepts (it reads these at each login).
    monkeypatch.setattr(smtp_server, "USER", USERNAME)
    monkeypatch.setattr(smtp_server, "PASSWORD", PASSWORD)


def run_digest(folder, hf, *args, password):
    import json
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "GITHUB_"))}
    env.update(PYTHONPATH=str(ROOT), DIGEST_HF_BASE_URL=hf.url, DIGEST_ARXIV_BASE_URL=hf.url,
               DIGEST_SUBSCRIBERS=json.dumps({"subscribers": [{"email": a} for a in ADDRESSES]}),
               DIGEST_LEDGER_SALT=SALT, DIGEST_SMTP_USERNAME=USERNAME, DIGEST_SMTP_PASSWORD=password,
               GITHUB_STEP_SUMMARY=str(folder / "step-summary.md"))
    done = subprocess.run([sys.executable, "-m", "digest", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)
    summary = folder / "step-summary.md"
    return done.returncode, done.stdout, done.stderr, summary.read_text() if summary.exists() else ""


def assert_no_secret(folder, *texts):
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any("snapshots" in p.parts for p in files) and any(p.suffix == ".html" for p in files)
    for secret in SECRETS:
        for text in texts:
            assert secret not in text, text
        for path in files:
            assert secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_failure_of_send_or_run_prints_or_writes_a_secret(tmp_path, cert, accepts_the_secrets, case):
    mode, mailbox, code, password, trusted, running = CASES[case]
    with Server() as hf:
        publish(hf)
        for n in range(1, 32):
            hf.sources.daily.setdefault(f"2026-08-{n:02d}", [])
        smtp = SmtpServer(*cert, mode=mode, mailbox=mailbox(), port=free_port())
        if running:
            smtp.__enter__()
        try:
            write_config(tmp_path, smtp, cert)
            if not trusted:
                toml = tmp_path / "digest.toml"
                toml.write_text("\n".join(line for line in toml.read_text().splitlines()
                                          if not line.startswith("smtp_ca_file")) + "\n")
            run = run_digest(tmp_path, hf, "run", "--date", DAY.isoformat(), "--base-url", "https://example.org/p/",
                             "--out", "site", password=password)
            assert run[0] == code, run
            if (tmp_path / "data" / "sent").exists():  # so that send tries every reader again
                (tmp_path / "data" / "sent").rename(tmp_path / "sent-run")
            send = run_digest(tmp_path, hf, "send", "--date", DAY.isoformat(), password=password)
            assert send[0] == code, send
            if case == "refused login":
                assert "refused the login" in run[2] and "refused the login" in send[2]
        finally:
            if running:
                smtp.__exit__()
    assert_no_secret(tmp_path, *run[1:], *send[1:])

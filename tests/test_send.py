"""digest send against a real SMTP server (aiosmtpd on 127.0.0.1, TLS, AUTH): exactly once"""

import asyncio
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import HF_DAILY, ROOT
from smtp_server import HOST, PASSWORD, USER, Mailbox, SmtpServer, free_port, make_certificate
from test_email import assert_inlined

from digest.config import load_config
from digest.errors import LedgerError, SmtpConnectError
from digest.publish.ledger import Ledger
from digest.publish.outbox import send_digest
from digest.render.email import HTML_BUDGET
from digest.render.mime import recipient_token

# aiosmtpd warns about AUTH without STARTTLS on the implicit-TLS server (it does not count
# implicit TLS) and on the deliberately plain one; both are what these tests want.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

# The week the demo's sample was once made of (the sample is now a replayed December week).
SAMPLE = [HF_DAILY / f"2026-08-{d}.json" for d in ("13", "14", "17", "18", "19", "20", "21")]
DAY = "2026-08-20"
SALT = "test-salt-0123456789abcdef"
ADDRESSES = ["ada@example.org", "bob@example.net", "cy@example.com", "di@example.org"]


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def project(run, tmp_path, monkeypatch, cert):
    """Sample data up to Aug 20, four subscribers, secrets in the environment"""
    run("import", *[p for p in SAMPLE if p.stem <= DAY])
    subscribers = "".join(f'[[subscribers]]\nemail = "{a}"\nname = "Reader {i}"\n\n' for i, a in enumerate(ADDRESSES))
    # A fifth reader whose filters match nothing that day: skipped, never sent.
    subscribers += '[[subscribers]]\nemail = "ed@example.org"\nauthors = ["Nobody Atall"]\n'
    (tmp_path / "subscribers.toml").write_text(subscribers)
    monkeypatch.setenv("DIGEST_LEDGER_SALT", SALT)
    monkeypatch.setenv("DIGEST_SMTP_USERNAME", USER)
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", PASSWORD)
    return tmp_path


def configure(folder, port, cert, security="starttls", ca=True, rate_limit=0, extra=""):
    ca_line = f'smtp_ca_file = "{cert[0]}"\n' if ca else ""
    (Path(folder) / "digest.toml").write_text(
        'title = "Daily Papers"\n[email]\nfrom_address = "papers@digest.example.org"\n'
        'base_url = "https://example.org/papers"\nunsubscribe_mailto = "unsubscribe@digest.example.org"\n'
        f'subscribers_file = "subscribers.toml"\nsmtp_host = "{HOST}"\nsmtp_port = {port}\n'
        f'smtp_security = "{security}"\n{ca_line}rate_limit = {rate_limit}\n{extra}')


def ledger_tokens(folder, day=DAY):
    path = Path(folder) / "data" / "sent" / f"{day}.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    return [r["recipient"] for r in records if "recipient" in r]


def token(address):
    return recipient_token(address, SALT)


def assert_each_received_once(mailbox, addresses=ADDRESSES):
    received = mailbox.received()
    assert sorted(received) == sorted(addresses)
    assert all(len(messages) == 1 for messages in received.values()), {k: len(v) for k, v in received.items()}


def test_every_subscriber_gets_exactly_one_message(project, run, cert):
    with SmtpServer(*cert) as server:
        configure(project, server.port, cert)
        result = run("send", "--date", DAY)
        assert "2026-08-20: 4 sent, 1 skipped (nothing matches)" in result.stdout
        mailbox = server.mailbox
        assert_each_received_once(mailbox)
        assert mailbox.connections == 1 and mailbox.logins == [True]  # one reused connection, one login
        for address, [message] in mailbox.received().items():
            assert message.get_content_type() == "multipart/alternative"
            text, html = message.get_payload()
            assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
            assert message["To"].addresses[0].addr_spec == address
            assert message["From"].addresses[0].addr_spec == "papers@digest.example.org"
            assert message["Subject"] == "14 new · 1 trending — Daily Papers, 20 Aug 2026"
            assert message["List-Id"] == '"Daily Papers" <daily-papers.digest.example.org>'
            assert message["List-Unsubscribe"] == "<mailto:unsubscribe@digest.example.org?subject=unsubscribe>"
            assert message["List-Unsubscribe-Post"] is None  # no https endpoint configured
            assert message["Message-ID"].endswith("@digest.example.org>")
            assert message["Date"].datetime.tzinfo is not None
            assert "OmniScientist" in text.get_content() and "+52 upvotes since Aug 14" in text.get_content()
            body = html.get_content()
            assert len(body.encode()) <= HTML_BUDGET
            assert_inlined(body)
        # The ledger holds salted hashes, never an address.
        assert sorted(ledger_tokens(project)) == sorted(token(a) for a in ADDRESSES)
        raw = (project / "data" / "sent" / f"{DAY}.jsonl").read_text()
        assert "@" not in raw and "example" not in raw

        again = run("send", "--date", DAY)
        assert "4 already sent, 1 skipped" in again.stdout
        assert len(mailbox.messages) == 4 and mailbox.connections == 1  # nothing sent, no connection made


def test_implicit_tls_on_its_own_port(project, run, cert):
    with SmtpServer(*cert, mode="tls") as server:
        configure(project, server.port, cert, security="tls")
        run("send", "--date", DAY)
        assert_each_received_once(server.mailbox)


def test_a_dropped_connection_is_reconnected_and_nothing_is_sent_twice(project, run, cert):
    with SmtpServer(*cert, mailbox=Mailbox(drop_after=2)) as server:
        configure(project, server.port, cert)
        run("send", "--date", DAY)
        assert_each_received_once(server.mailbox)
        assert server.mailbox.connections == 2


def test_a_run_cut_short_resumes_with_the_rest(project, cert):
    # The server drops the connection after two messages and will not take another:
    # the run stops with an error, then a second run (server back) sends only the rest.
    mailbox = Mailbox(drop_after=2)
    port = free_port()
    with SmtpServer(*cert, port=port, mailbox=mailbox):
        configure(project, port, cert)
        config = load_config(project / "digest.toml", project / "data")
        original = mailbox.handle_EHLO

        async def refuse_after_the_drop(server, session, envelope, hostname, responses):
            if mailbox.messages and not any(p is server for p in mailbox.protocols):
                server.transport.close()
                return responses
            return await original(server, session, envelope, hostname, responses)

        mailbox.handle_EHLO = refuse_after_the_drop
        with pytest.raises(SmtpConnectError) as error:
            send_digest(config, dt.date(2026, 8, 20), sleep=lambda s: None)
        assert "could not get it back" in str(error.value) and "2 sent before that" in str(error.value)
        assert "\n" not in str(error.value)
        assert len(mailbox.messages) == 2
        assert sorted(ledger_tokens(project)) == sorted(token(r) for _, r, _ in mailbox.messages)

        mailbox.handle_EHLO = original
        mailbox.drop_after = None
        report = send_digest(config, dt.date(2026, 8, 20))
        assert report.count("sent") == 2 and report.count("already-sent") == 2
        assert_each_received_once(mailbox)


def test_a_killed_sender_resumes_and_each_recipient_gets_one(project, cert):
    # A real kill -9 of the command line, halfway through a rate-limited run.
    with SmtpServer(*cert) as server:
        configure(project, server.port, cert, rate_limit=4)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "digest", "--data-dir", "data", "send", "--date", DAY]
        proc = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(ledger_tokens(project)) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sender did not record two messages in time"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert 2 <= len(server.mailbox.messages) < 4
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "already sent" in done.stdout
        assert_each_received_once(server.mailbox)
        assert sorted(ledger_tokens(project)) == sorted(token(a) for a in ADDRESSES)


class HoldsData(Mailbox):
    """Receives one recipient's message whole, then holds back its answer until released

    `keep` says whether the server then keeps the message (it had it before the sender died)
    or loses it (a server that crashed too).
    """

    def __init__(self, hold, keep):
        super().__init__()
        self.hold, self.keep = hold, keep
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.hold in envelope.rcpt_tos and not self.release.is_set():
            if self.keep:  # queued before answering, as a real server does
                await super().handle_DATA(server, session, envelope)
            self.holding.set()
            while not self.release.is_set():  # the sender is killed meanwhile; aiosmtpd then drops this
                await asyncio.sleep(0.01)
            return "451 4.3.0 lost" if not self.keep else "250 2.0.0 accepted"
        return await super().handle_DATA(server, session, envelope)


def kill_during_data(project, cert, mailbox):
    """Start `digest send`, kill -9 it while the server holds the second reader's DATA answer"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "digest", "--data-dir", "data", "send", "--date", DAY]
    proc = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert mailbox.holding.wait(60), proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    mailbox.release.set()
    return command, env


@pytest.mark.parametrize("keep", [True, False], ids=["server-kept-it", "server-lost-it"])
def test_a_sender_killed_during_data_does_not_resend_blindly(project, cert, keep):
    held = ADDRESSES[1]
    mailbox = HoldsData(held, keep)
    with SmtpServer(*cert, mailbox=mailbox) as server:
        configure(project, server.port, cert)
        command, env = kill_during_data(project, cert, mailbox)
        assert sorted(ledger_tokens(project)) == [token(ADDRESSES[0])]
        again = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 24, again
        assert "UNCONFIRMED  #2 b…@example.net" in again.stdout
        assert "2 sent, 1 already sent, 1 skipped (nothing matches), 1 unconfirmed (not sent again)" in again.stdout
        assert again.stderr.strip() == ("Error: 1 of 3 messages unconfirmed (see UNCONFIRMED above): a run stopped"
                                        " while sending them, so the server may have them; not sent again"
                                        " (--resend-unconfirmed sends them)")
        received = mailbox.received()
        assert len(received.get(held, [])) == (1 if keep else 0)
        assert all(len(received[a]) == 1 for a in ADDRESSES if a != held)
        # The operator decides: here, resend (the server had lost it, or a second copy is acceptable).
        resent = subprocess.run(command + ["--resend-unconfirmed"], cwd=project, env=env, capture_output=True,
                                text=True, timeout=120)
        assert resent.returncode == 0, resent
        assert len(mailbox.received()[held]) == (2 if keep else 1)
        assert sorted(ledger_tokens(project)) == sorted(token(a) for a in ADDRESSES)
        final = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert final.returncode == 0 and "4 already sent" in final.stdout


class RefusesDataOnce(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        if ADDRESSES[2] in envelope.rcpt_tos and not getattr(self, "refused_once", False):
            self.refused_once = True
            return "554 5.6.0 message content rejected"
        return await super().handle_DATA(server, session, envelope)


def test_a_message_refused_at_data_is_failed_not_unconfirmed_and_tried_again(project, run, cert):
    with SmtpServer(*cert, mailbox=RefusesDataOnce()) as server:
        configure(project, server.port, cert)
        first = run("send", "--date", DAY, expect=24)
        assert "FAILED       #3 c…@example.com" in first.stdout and "554 5.6.0" in first.stdout
        lines = [json.loads(line) for line in (project / "data" / "sent" / f"{DAY}.jsonl").read_text().splitlines()]
        assert [next(iter(set(r) - {"at", "sent_at"})) for r in lines[1:]] == [
            "attempt", "recipient", "attempt", "recipient", "attempt", "refused", "attempt", "recipient"]
        second = run("send", "--date", DAY)
        assert "1 sent, 3 already sent" in second.stdout and "UNCONFIRMED" not in second.stdout
        assert_each_received_once(server.mailbox)


def test_a_refused_recipient_is_reported_and_the_others_still_go(project, run, cert):
    with SmtpServer(*cert, mailbox=Mailbox(reject={"bob@example.net"})) as server:
        configure(project, server.port, cert)
        result = run("send", "--date", DAY, expect=24)
        assert_each_received_once(server.mailbox, [a for a in ADDRESSES if a != "bob@example.net"])
        assert "FAILED       #2 b…@example.net" in result.stdout and "550 5.1.1 mailbox unavailable" in result.stdout
        assert result.stderr.strip() == "Error: 1 of 4 messages failed (see FAILED above); the others were sent"
        assert sorted(ledger_tokens(project)) == sorted(token(a) for a in ADDRESSES if a != "bob@example.net")
        assert "bob@example.net" not in result.stdout + result.stderr


@pytest.mark.parametrize("case,code,message", [
    ("wrong password", 23, f"Error: {HOST}:{{port}} refused the login (535 5.7.8 Authentication credentials invalid);"
                           " check the username and password secrets"),
    ("no STARTTLS", 22, f"Error: {HOST}:{{port}} does not offer STARTTLS; refusing to send without TLS"
                        ' (use smtp_security = "tls" for port 465)'),
    ("unreachable", 21, f"Error: cannot connect to {HOST}:{{port}}: Connection refused"),
    ("untrusted certificate", 22, f"Error: {HOST}:{{port}}: TLS certificate not trusted"),
])
def test_connection_failures_are_one_line_errors_and_nothing_is_recorded(project, run, cert, monkeypatch,
                                                                         case, code, message):
    mode = "plain" if case == "no STARTTLS" else "starttls"
    if case == "wrong password":
        monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "not the password")
    server = SmtpServer(*cert, mode=mode)
    if case != "unreachable":
        server.__enter__()
    try:
        configure(project, server.port, cert, ca=case != "untrusted certificate")
        result = run("send", "--date", DAY, expect=code)
        error = result.stderr.strip()
        assert error.startswith(message.format(port=server.port)), error
        assert "\n" not in error and PASSWORD not in error and USER not in error
        assert server.mailbox.messages == []
        assert ledger_tokens(project) == []
    finally:
        if case != "unreachable":
            server.__exit__()


def test_missing_salt_refuses_to_send_before_connecting(project, run, cert, monkeypatch):
    monkeypatch.delenv("DIGEST_LEDGER_SALT")
    with SmtpServer(*cert) as server:
        configure(project, server.port, cert)
        result = run("send", "--date", DAY, expect=20)
        assert "DIGEST_LEDGER_SALT is not set" in result.stderr and "nothing is sent without it" in result.stderr
        assert server.mailbox.connections == 0 and not (project / "data" / "sent").exists()


def test_dry_run_prints_who_would_get_what_and_sends_nothing(project, run, cert):
    with SmtpServer(*cert) as server:
        configure(project, server.port, cert)
        result = run("send", "--date", DAY, "--dry-run")
        lines = result.stdout.splitlines()
        assert lines[0].startswith("would send   #1 a…@example.org  14 new · 1 trending — Daily Papers, 20 Aug 2026 (")
        assert lines[4] == ("skipped      #5 e…@example.org  0 new · 0 trending — Daily Papers, 20 Aug 2026:"
                            " nothing matches the filters")
        assert lines[-1] == "2026-08-20: 4 to send, 1 skipped (nothing matches)"
        assert not any(a in result.stdout for a in ADDRESSES)
        assert server.mailbox.connections == 0 and not (project / "data" / "sent").exists()


def test_send_digest_takes_a_digest_already_computed(project, cert, monkeypatch):
    from digest.pipeline import digest_for
    from digest.publish import outbox

    configure(project, free_port(), cert)
    config = load_config(project / "digest.toml", project / "data")
    digest = digest_for(config, dt.date(2026, 8, 20))
    monkeypatch.setattr(outbox, "digest_for", lambda *args, **kwargs: pytest.fail("computed the digest again"))
    report = send_digest(config, dry_run=True, digest=digest)
    assert report.date == digest.date and report.count("would-send") == 4 and report.count("skipped") == 1


def test_the_rate_limit_paces_the_messages(project, cert):
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(round(seconds, 3))
        now[0] += seconds

    with SmtpServer(*cert) as server:
        configure(project, server.port, cert, rate_limit=2)
        config = load_config(project / "digest.toml", project / "data")
        send_digest(config, dt.date(2026, 8, 20), sleep=sleep, clock=lambda: now[0])
        assert_each_received_once(server.mailbox)
    assert sleeps == [0.5, 0.5, 0.5]  # 4 messages, at most 2 a second


def test_a_second_run_at_the_same_time_is_refused(project, run, cert):
    with SmtpServer(*cert) as server:
        configure(project, server.port, cert)
        config = load_config(project / "digest.toml", project / "data")
        ledger = Ledger(config.data_dir, dt.date(2026, 8, 20), SALT).open()
        try:
            result = run("send", "--date", DAY, expect=25)
            assert "another 'digest send' is running" in result.stderr
        finally:
            ledger.close()
        assert server.mailbox.connections == 0
        run("send", "--date", DAY)
        assert_each_received_once(server.mailbox)


def test_a_ledger_written_with_another_salt_is_refused(project, run, cert, monkeypatch):
    with SmtpServer(*cert) as server:
        configure(project, server.port, cert)
        run("send", "--date", DAY)
        monkeypatch.setenv("DIGEST_LEDGER_SALT", "a-different-salt-0123456789")
        result = run("send", "--date", DAY, expect=25)
        assert "written with another salt" in result.stderr
        assert len(server.mailbox.messages) == 4  # nobody got a second copy
        # The refused run let go of the ledger's lock: the right salt works again at once.
        monkeypatch.setenv("DIGEST_LEDGER_SALT", SALT)
        assert "4 already sent" in run("send", "--date", DAY).stdout


def test_a_torn_last_line_is_dropped_and_a_damaged_ledger_refused(tmp_path):
    day = dt.date(2026, 8, 20)
    ledger = Ledger(tmp_path, day, SALT).open()
    when = dt.datetime(2026, 8, 20, 7, 0, tzinfo=dt.UTC)
    ledger.record("ada@example.org", when)
    ledger.record("bob@example.net", when)
    ledger.close()
    path = tmp_path / "sent" / "2026-08-20.jsonl"
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "digest-sent" and header["version"] == 1 and header["date"] == "2026-08-20"
    assert re.fullmatch(r"[0-9a-f]{16}", header["salt_check"]) and SALT not in lines[0]
    assert json.loads(lines[1]) == {"recipient": token("ada@example.org"), "sent_at": "2026-08-20T07:00:00Z"}
    # A crash in the middle of appending leaves half a line: it never happened.
    with open(path, "ab") as f:
        f.write(b'{"recipient": "12ab')
    ledger = Ledger(tmp_path, day, SALT).open()
    assert "ada@example.org" in ledger and "bob@example.net" in ledger and "cy@example.com" not in ledger
    ledger.record("cy@example.com", when)
    ledger.close()
    assert len(path.read_text().splitlines()) == 4
    assert "cy@example.com" in Ledger(tmp_path, day, SALT).read()
    # A damaged complete line is not guessed around: sending stops until someone looks.
    path.write_text(path.read_text().replace('"recipient"', '"recipent"', 1))
    with pytest.raises(LedgerError, match="line 2 is not a sent record"):
        Ledger(tmp_path, day, SALT).read()
    path.write_text("not json\n")
    with pytest.raises(LedgerError, match="damaged sent ledger"):
        Ledger(tmp_path, day, SALT).read()


def test_a_subscriber_list_tracked_by_git_is_refused(project, run, cert):
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "add", "subscribers.toml"], check=True)
    configure(project, free_port(), cert)
    result = run("send", "--date", DAY, "--dry-run", expect=20)
    assert "the subscriber list is tracked by git" in result.stderr

"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, TLS with a certificate made here"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
USER = "digest-bot"
PASSWORD = "correct horse battery staple"


def make_certificate(folder):
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert path, key path)"""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "digest test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(folder)
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    """What the server accepted, and how it misbehaves on purpose"""

    messages: list = field(default_factory=list)  # (envelope sender, recipient, bytes)
    reject: set = field(default_factory=set)  # recipients refused with 550
    drop_after: int | None = None  # close each connection after this many messages
    protocols: list = field(default_factory=list)  # one aiosmtpd protocol object per connection
    logins: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self):
        """Recipient -> list of parsed messages"""
        out = {}
        for _, rcpt, data in self.messages:
            out.setdefault(rcpt, []).append(message_from_bytes(data, policy=policy.default))
        return out

    # aiosmtpd handler hooks

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        # Counted per connection, not per session: STARTTLS starts a new session.
        with self.lock:
            if not any(p is server for p in self.protocols):
                self.protocols.append(server)
        return responses

    @property
    def connections(self):
        return len(self.protocols)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop_after is not None and getattr(session, "accepted", 0) >= self.drop_after:
            server.transport.close()  # drop, as a server with a per-connection limit does
            return "421 4.7.0 too many messages on this connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((envelope.mail_from, rcpt, envelope.original_content))
        session.accepted = getattr(session, "accepted", 0) + 1
        return "250 2.0.0 accepted"


class Authenticator:
    def __init__(self, mailbox):
        self.mailbox = mailbox

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())
        self.mailbox.logins.append(ok)
        return AuthResult(success=ok, handled=False)


class SmtpServer:
    """aiosmtpd on 127.0.0.1: STARTTLS (mode 'starttls'), implicit TLS ('tls') or no TLS ('plain')"""

    def __init__(self, cert, key, mode="starttls", port=None, mailbox=None):
        self.mode = mode
        self.port = port or free_port()
        self.mailbox = mailbox or Mailbox()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        kwargs = dict(authenticator=Authenticator(self.mailbox), auth_required=True)
        if mode == "starttls":
            kwargs.update(tls_context=context, require_starttls=True, auth_require_tls=True)
        elif mode == "tls":
            kwargs.update(ssl_context=context, auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        self.controller = Controller(self.mailbox, hostname=HOST, port=self.port, **kwargs)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

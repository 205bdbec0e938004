"""SMTP delivery: one TLS connection reused for every message, paced, re-made when dropped"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field

from digest.errors import EmailSetupError, SmtpAuthError, SmtpConnectError, SmtpTlsError

# Waits before each attempt to reconnect after the server dropped the connection: the first
# is immediate (servers often close after N messages), then back off.
RECONNECT_DELAYS = (0.0, 1.0, 3.0)


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect; the password comes from the environment and is never shown"""

    host: str
    port: int
    security: str
    username: str | None = field(repr=False)  # a secret too: never in a message (README lists it)
    password: str | None = field(repr=False)
    ca_file: str | None
    timeout: float

    @property
    def where(self):
        return f"{self.host}:{self.port}"

    def hide(self, text):
        """A server's reply with the username and password taken out, should the server echo them"""
        for secret in (self.username, self.password):
            if secret:
                text = text.replace(secret, "…")
        return text

    @classmethod
    def from_settings(cls, settings, env):
        """Where a loaded [email] sends to (check_sendable passed), with the login from the environment"""
        username = env.get(settings.smtp_username_env) or None
        password = env.get(settings.smtp_password_env) or None
        if username and not password:
            raise EmailSetupError(
                f"the environment variable {settings.smtp_password_env} is not set"
                f" (the password for {settings.smtp_username_env})"
            )
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            username,
            password,
            settings.smtp_ca_file,
            settings.smtp_timeout or None,
        )


def _reply(error):
    """An SMTP reply as one line: '535 5.7.8 Authentication failed'"""
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    text = " ".join(text.split())
    return f"{code} {text}".strip() if code else (text or type(error).__name__)


def _reason(error):
    return " ".join(str(getattr(error, "strerror", None) or error or type(error).__name__).split())


def connect(target):
    """An SMTP connection over TLS (implicit or STARTTLS), logged in when credentials are set"""
    context = ssl.create_default_context(cafile=target.ca_file)
    smtp = None
    try:
        if target.security == "tls":
            smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout, context=context)
            smtp.ehlo()
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise SmtpTlsError(
                    f"{target.where} does not offer STARTTLS; refusing to send without TLS"
                    ' (use smtp_security = "tls" for port 465)'
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if target.username:
            if not smtp.has_extn("auth"):
                raise SmtpAuthError(f"{target.where} offers no login (AUTH) but credentials are set")
            smtp.login(target.username, target.password)
        return smtp
    except (SmtpTlsError, SmtpAuthError):
        _close(smtp)
        raise
    except smtplib.SMTPAuthenticationError as e:
        _close(smtp)
        raise SmtpAuthError(
            f"{target.where} refused the login ({target.hide(_reply(e))}); check the username and password secrets"
        ) from None
    except ssl.SSLCertVerificationError as e:
        _close(smtp)
        raise SmtpTlsError(
            f"{target.where}: TLS certificate not trusted ({e.verify_message};"
            " set [email] smtp_ca_file for a private CA)"
        ) from None
    except ssl.SSLError as e:
        _close(smtp)
        raise SmtpTlsError(
            f"{target.where}: TLS failed ({e.reason or e}); is smtp_security right for this port?"
        ) from None
    except smtplib.SMTPResponseException as e:
        _close(smtp)
        raise SmtpConnectError(f"{target.where} refused the connection ({target.hide(_reply(e))})") from None
    except (OSError, smtplib.SMTPException) as e:
        _close(smtp)
        raise SmtpConnectError(f"cannot connect to {target.where}: {target.hide(_reason(e))}") from None


def _close(smtp):
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class Dropped(Exception):
    """The connection went away before the message went out: reconnect and try it again"""


class Unconfirmed(Exception):
    """The connection went away after the message went out and before the server answered"""


class Sender:
    """One SMTP connection reused for every message, paced by the rate limit, re-made when dropped"""

    def __init__(self, target, rate_limit, sleep, clock):
        self.target = target
        self.interval = 1.0 / rate_limit if rate_limit else 0.0
        self.sleep = sleep
        self.clock = clock
        self.smtp = None
        self.last = None

    def send(self, sender, recipient, data, before_data=lambda: None):
        """Send one message; return None when accepted, else the server's reason for refusing it

        `before_data` runs just before the message itself goes out. A connection lost after
        that, with no answer, raises Unconfirmed: the message is not tried again.
        """
        reason = None
        for delay in (None, *RECONNECT_DELAYS):
            if delay is not None:  # the connection dropped: wait, then connect again
                self.sleep(delay)
            if self.smtp is None:
                try:
                    self.smtp = connect(self.target)
                except SmtpConnectError as e:
                    if delay is None:
                        raise
                    reason = e
                    continue
            self._pace()
            try:
                return self._send_once(sender, recipient, data, before_data)
            except Dropped as e:
                reason = e
                self._drop()
        raise SmtpConnectError(f"lost the connection to {self.target.where} and could not get it back ({reason})")

    def _pace(self):
        if self.interval and self.last is not None:
            wait = self.last + self.interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self.last = self.clock()

    def _send_once(self, sender, recipient, data, before_data):
        try:
            self._envelope(sender, recipient, len(data))
            before_data()
            try:
                code, reply = self.smtp.data(data)
            except (smtplib.SMTPServerDisconnected, OSError) as e:
                # The message may have reached the server whole: resending could deliver it twice.
                raise Unconfirmed(_reason(e) or "server disconnected") from None
            if code != 250:
                if code != 421:
                    self.smtp.rset()
                raise smtplib.SMTPDataError(code, reply)
            return None
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            if code == 421:
                raise Dropped(f"{code} {_text(text)}") from None
            return f"refused by the server ({code} {_text(text)})"
        except smtplib.SMTPSenderRefused as e:
            if e.smtp_code == 421:
                raise Dropped(_reply(e)) from None
            raise SmtpAuthError(f"{self.target.where} refused the sender {e.sender!r} ({_reply(e)})") from None
        except smtplib.SMTPDataError as e:
            if e.smtp_code == 421:
                raise Dropped(_reply(e)) from None
            return f"message refused by the server ({_reply(e)})"
        except smtplib.SMTPServerDisconnected as e:
            raise Dropped(_reason(e) or "server disconnected") from None
        except smtplib.SMTPResponseException as e:
            if e.smtp_code == 421:
                raise Dropped(_reply(e)) from None
            return f"refused by the server ({_reply(e)})"
        except OSError as e:
            raise Dropped(_reason(e)) from None

    def _envelope(self, sender, recipient, size):
        """MAIL FROM and RCPT TO, as smtplib.sendmail sends them; refusals raise its exceptions"""
        self.smtp.ehlo_or_helo_if_needed()
        options = [f"size={size}"] if self.smtp.does_esmtp and self.smtp.has_extn("size") else []
        code, reply = self.smtp.mail(sender, options)
        if code != 250:
            if code != 421:
                self.smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = self.smtp.rcpt(recipient)
        if code not in (250, 251):
            if code != 421:
                self.smtp.rset()
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})

    def _drop(self):
        try:
            self.smtp.close()
        except OSError:
            pass
        self.smtp = None

    def close(self):
        if self.smtp is not None:
            _close(self.smtp)
            self.smtp = None


def _text(value):
    value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(value.split())

"""Errors a user can act on; cli.py turns each kind into an exit code"""


class DigestError(Exception):
    """Base of every error the core raises on purpose"""

    exit_code = 1


class InputError(DigestError):
    """A file or response that cannot be read as any known format"""

    exit_code = 3


class StoreError(DigestError):
    """The data directory holds something we cannot use"""

    exit_code = 4


class ConfigError(DigestError):
    """digest.toml or the environment is wrong"""

    exit_code = 6


class NoDataError(DigestError):
    """There is nothing to work on (no snapshots, unknown day)"""

    exit_code = 5


# Fetch errors (codes 7..9; see README "Exit codes").


class NetworkError(DigestError):
    """A source could not be reached, or kept failing after the last retry"""

    exit_code = 7


class BadResponseError(DigestError):
    """A source answered, but with something we cannot use (HTML, a wrong shape, too large)"""

    exit_code = 8


class PartialFetchError(DigestError):
    """Some listings were fetched and stored, others failed"""

    exit_code = 9


# Email (exit codes 20..): setting up, connecting, delivering.


class EmailSetupError(ConfigError):
    """The email settings, a secret in the environment or the subscriber list is missing or wrong"""

    exit_code = 20


class SmtpConnectError(DigestError):
    """The SMTP server cannot be reached, or the connection dropped and did not come back"""

    exit_code = 21


class SmtpTlsError(DigestError):
    """The SMTP server offers no TLS where it is required, or its certificate is not trusted"""

    exit_code = 22


class SmtpAuthError(DigestError):
    """The SMTP server refused the login (or the sender address)"""

    exit_code = 23


class DeliveryError(DigestError):
    """Some recipients were refused; the others were sent"""

    exit_code = 24


class LedgerError(StoreError):
    """The sent ledger is damaged, locked by another run, or was written with another salt"""

    exit_code = 25


# Site (exit codes 10..).


class SiteError(DigestError):
    """The site cannot be built or served as asked (bad base URL, foreign output folder)"""

    exit_code = 10


class FileSystemError(DigestError, OSError):
    """A file or folder cannot be written or read: disk full, permission denied, name too long,
    read-only file system. Also an OSError, so code that may go on without a file (a cache)
    still catches it as one."""

    exit_code = 11

    @classmethod
    def of(cls, error, path=None, within=None):
        """The one-line error for an OSError, naming `path`, else the file the error names, else
        the folder `within` which it happened"""
        where = next((w for w in (path, error.filename, within) if w is not None), None)
        reason = error.strerror or str(error) or type(error).__name__
        made = cls(f"{where}: {reason}" if where is not None else reason)
        made.errno = error.errno
        return made

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


class SiteError(DigestError):
    """The site cannot be built or served as asked (bad base URL, foreign output folder)"""

    exit_code = 10

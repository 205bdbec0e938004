"""digest.toml: every key checked, data directory precedence"""

from pathlib import Path

import pytest

from digest.config import load_config
from digest.errors import ConfigError, EmailSetupError


def write(tmp_path, text):
    path = tmp_path / "digest.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.data_dir == Path("data") and config.source_path is None
    assert config.trending.upvote_weight == 1.0 and config.digest.top_items == 10


def test_values_are_read_and_ints_become_floats(tmp_path):
    config = load_config(write(tmp_path, 'title = "AI papers"\n[trending]\nmin_score = 2\nmax_items = 5\n'), env={})
    assert config.title == "AI papers"
    assert config.trending.min_score == 2.0 and isinstance(config.trending.min_score, float)
    assert config.trending.max_items == 5


@pytest.mark.parametrize("text,message", [
    ("colour = 1\n", "unknown setting 'colour'"),
    ("[trending]\nupvote_wieght = 1\n", "[trending]: unknown setting 'upvote_wieght'"),
    ("[trending]\nmax_items = 2.5\n", "max_items has the wrong type (float)"),
    ("[trending]\nmin_score = -1\n", "min_score must not be negative"),
    ("[digest]\ntop_items = true\n", "top_items has the wrong type (bool)"),
    ("trending = 3\n", "[trending] should be a table"),
    ("title = [\n", "invalid TOML"),
])
def test_mistakes_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text), env={})
    assert message in str(error.value) and str(tmp_path / "digest.toml") in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_named_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_data_dir_precedence(tmp_path):
    path = write(tmp_path, 'data_dir = "store"\n')
    assert load_config(path, env={}).data_dir == tmp_path / "store"
    assert load_config(path, env={"DIGEST_DATA_DIR": "/env"}).data_dir == Path("/env")
    assert load_config(path, data_dir="/flag", env={"DIGEST_DATA_DIR": "/env"}).data_dir == Path("/flag")


@pytest.mark.parametrize("text,message", [
    ('from_address = "papers at example.org"', "[email] from_address: 'papers at example.org' is not an email address"),
    ('unsubscribe_mailto = "nobody"', "[email] unsubscribe_mailto: 'nobody' is not an email address"),
    ('unsubscribe_url = "http://example.org/u"', "[email] unsubscribe_url: 'http://example.org/u' is not an https URL"),
    ("unsubscribe_one_click = true", "[email] unsubscribe_one_click needs unsubscribe_url"),
    ('day_url = "{base_url}/{day}.html"', "[email] day_url: '{base_url}/{day}.html' can only use {base_url} and {date}"),
    ('base_url = "ftp://example.org"', "[email] base_url/day_url: 'ftp://example.org/day/2000-01-01.html' is not"),
    ('smtp_security = "plain"', "[email] smtp_security: 'plain' should be 'starttls' (port 587) or 'tls'"),
    ("smtp_port = 70000", "[email] smtp_port: 70000 is not a port number"),
])
def test_a_wrong_email_setting_fails_at_load(tmp_path, text, message):
    # Checked once, when the file is loaded: the renderer and the mailer trust the values.
    with pytest.raises(EmailSetupError) as error:
        load_config(write(tmp_path, f"[email]\n{text}\n"), env={})
    assert isinstance(error.value, ConfigError) and error.value.exit_code == 20
    assert message in str(error.value) and str(tmp_path / "digest.toml") in str(error.value)
    assert "\n" not in str(error.value)


def test_a_wrong_email_setting_stops_any_command_before_it_reads_data(run, tmp_path):
    write(tmp_path, '[email]\nfrom_address = "papers@@example.org"\n')
    for command in (("email",), ("send", "--dry-run"), ("diff",)):
        result = run(*command, expect=20)  # without the check at load: 5, no data yet
        assert "[email] from_address: 'p…@@example.org' is not an email address" in result.stderr


def test_what_only_sending_needs_is_checked_when_sending(tmp_path):
    config = load_config(write(tmp_path, "[email]\n"), env={})  # writing .eml files needs none of it
    with pytest.raises(EmailSetupError, match="from_address is not set"):
        config.email.check_sendable()
    config = load_config(write(tmp_path, '[email]\nfrom_address = "a@example.org"\n'
                                         'unsubscribe_mailto = "u@example.org"\nsubscribers_env = "X"\n'), env={})
    config.email.check_sendable(deliver=False)  # a dry run connects to nothing
    with pytest.raises(EmailSetupError, match="smtp_host is not set"):
        config.email.check_sendable()


def test_a_relative_subscribers_file_is_relative_to_the_config_file(tmp_path):
    path = write(tmp_path, '[email]\nsubscribers_file = "lists/subscribers.toml"\n')
    assert load_config(path, env={}).email.subscribers_file == str(tmp_path / "lists" / "subscribers.toml")

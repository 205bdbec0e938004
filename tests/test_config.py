"""digest.toml: every key checked, data directory precedence"""

from pathlib import Path

import pytest

from digest.config import load_config
from digest.errors import ConfigError


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

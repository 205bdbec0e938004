"""digest.example.toml: valid as it is and with every line uncommented, and it names every setting"""

import re
from dataclasses import fields

from conftest import ROOT

from digest.config import SECTIONS, Config, load_config

EXAMPLE = ROOT / "digest.example.toml"
KEY = re.compile(r"^(#\s*)?([a-z_]+)\s*=")


def sections(text):
    """{section name or "": {key: (line, commented out?)}} of the keys the file shows"""
    found, current = {"": {}}, ""
    for line in text.splitlines():
        if m := re.fullmatch(r"\[([a-z_]+)\]", line.strip()):
            current = m.group(1)
            found[current] = {}
        elif m := KEY.match(line):
            assert m.group(2) not in found[current], f"{m.group(2)} shown twice in [{current}]"
            found[current][m.group(2)] = (line, bool(m.group(1)))
    return found


def test_example_names_every_setting_of_every_section():
    shown = sections(EXAMPLE.read_text(encoding="utf-8"))
    assert set(shown) == {"", *SECTIONS}
    assert set(shown[""]) == {"data_dir", "title"}
    for name, cls in SECTIONS.items():
        assert set(shown[name]) == {f.name for f in fields(cls)}, f"[{name}] in digest.example.toml"


def test_every_setting_is_explained():
    for section, keys in sections(EXAMPLE.read_text(encoding="utf-8")).items():
        for key, (line, _) in keys.items():
            value = line.split("=", 1)[1]
            assert re.search(r"\s#\s*\w", value), f"[{section}] {key} has no comment saying what it does"


def test_example_loads_and_its_values_are_the_defaults(tmp_path):
    config = load_config(EXAMPLE, env={})
    defaults = Config()
    assert config.title == defaults.title
    for name in SECTIONS:
        assert getattr(config, name) == getattr(defaults, name), f"[{name}] values differ from the defaults"


def test_example_with_every_line_uncommented_loads(tmp_path):
    text = "\n".join(re.sub(r"^#\s*(?=[a-z_]+\s*=)", "", line) for line in EXAMPLE.read_text().splitlines())
    path = tmp_path / "digest.toml"
    path.write_text(text)
    config = load_config(path, env={})
    assert config.data_dir == tmp_path / "data"
    assert config.email.smtp_host == "smtp.example.org" and config.email.subscribers_env == "DIGEST_SUBSCRIBERS"

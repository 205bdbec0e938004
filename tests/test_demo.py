"""The demo and the entry points, run as a user runs them: real processes"""

import json
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT


def digest(*args, cwd):
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_demo_builds_from_the_bundled_sample(tmp_path):
    result = digest("demo", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Imported 7 sample snapshots" in result.stdout
    out = tmp_path / "out"
    days = ["2026-08-13", "2026-08-14", "2026-08-17", "2026-08-18", "2026-08-19", "2026-08-20", "2026-08-21"]
    assert sorted(p.stem for p in (out / "markdown").glob("*.md")) == days
    assert sorted(p.stem for p in (out / "data" / "snapshots" / "hf-daily").glob("*.json")) == days
    aug20 = json.loads((out / "json" / "2026-08-20.json").read_text())
    assert [t["id"] for t in aug20["trending"]] == ["2608.13558"]
    assert "markdown   out/markdown/2026-08-21.md" in result.stdout
    assert "site       out/site/index.html" in result.stdout
    assert (out / "site" / "day" / "2026-08-20.html").is_file()
    assert (out / "site" / "feeds" / "papers.atom").is_file()
    assert (out / "site" / "pagefind" / "pagefind-ui.js").is_file()


def test_demo_twice_gives_byte_identical_output(tmp_path):
    for name in ("a", "b"):
        assert digest("demo", "--out", name, cwd=tmp_path).returncode == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file() and ".cache" not in p.parts)
    # 7 days of snapshots, Markdown and JSON, the latest day's email (.eml and .html), the site.
    assert len([f for f in files if f.parts[0] != "site"]) == 7 * 3 + 2
    assert len([f for f in files if f.parts[0] == "site"]) > 200
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_demo_ignores_a_config_in_the_working_folder(tmp_path):
    (tmp_path / "digest.toml").write_text("this is = not [valid toml")
    assert digest("demo", "--out", "out", cwd=tmp_path).returncode == 0


def test_bad_config_is_a_one_line_error(tmp_path):
    (tmp_path / "digest.toml").write_text("[trending]\nupvote_weight = 'heavy'\n")
    result = digest("diff", cwd=tmp_path)
    assert result.returncode == 6
    assert result.stderr.strip() == "Error: digest.toml [trending]: upvote_weight has the wrong type (str)"


def test_sample_is_small():
    size = sum(p.stat().st_size for p in (ROOT / "digest" / "sample").rglob("*.json"))
    assert 100_000 < size < 1_000_000


def test_wheel_ships_templates_and_sample(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--no-index", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    [wheel] = tmp_path.glob("digest-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "digest/templates/digest.md.j2" in names
    assert {"digest/templates/email.html.j2", "digest/templates/email.css",
            "digest/templates/_email_parts.html.j2"} <= set(names)
    assert "digest/templates/site/paper.html" in names
    assert "digest/templates/site/static/style.css" in names
    assert "digest/sample/hf-daily/2026-08-21.json" in names
    assert any(n.endswith("entry_points.txt") for n in names)

"""Hugging Face Daily Papers JSON: every schema generation and the damaged archive shapes"""

import json
import shutil

import pytest
from conftest import HF_DAILY, hf_files

from digest.errors import InputError
from digest.sources import parse_bytes


def parse(path, **kw):
    return parse_bytes(path.read_bytes(), name=path.name, **kw)


def raw_count(path):
    data = json.loads(path.read_text())
    return len(data["data"] if isinstance(data, dict) else data)


@pytest.mark.parametrize("path", hf_files(), ids=lambda p: p.stem)
def test_every_fixture_parses_to_one_entry_per_item(path):
    snapshot = parse(path).snapshot
    assert snapshot.date.isoformat() == path.stem
    assert snapshot.listing == "hf-daily"
    assert len(snapshot.entries) == raw_count(path)
    assert [e.rank for e in snapshot.entries] == list(range(1, len(snapshot.entries) + 1))
    assert all(e.id and e.title and e.abstract for e in snapshot.entries)


def test_oldest_schema_fills_missing_fields_with_null():
    first = parse(HF_DAILY / "2024-05-27.json").snapshot.entries[0]
    assert first.id == "2405.15738"
    # The API wraps arXiv titles at 80 columns; the newline and indent fold to one space.
    assert first.title == "ConvLLaVA: Hierarchical Backbones as Visual Encoder for Large Multimodal Models"
    assert (first.upvotes, first.comments, first.author_count) == (32, 3, 9)
    assert first.authors[:2] == ("Chunjiang Ge", "Sijie Cheng")
    assert first.organization is None and first.ai_summary is None and first.keywords == ()
    assert first.links["code"] is None and first.links["project"] is None
    assert first.links["hf"] == "https://huggingface.co/papers/2405.15738"
    assert first.published == "2024-05-24"


def test_2025_schema_has_keywords_but_no_summary():
    first = parse(HF_DAILY / "2025-03-11.json").snapshot.entries[0]
    assert first.id == "2503.03601"
    assert first.keywords[:3] == ("Sparse Autoencoders", "Gemma-2-2b", "residual stream")
    assert len(first.keywords) == 11
    assert first.ai_summary is None


def test_organization_and_code_links_from_late_2025():
    entries = parse(HF_DAILY / "2025-10-03.json").snapshot.entries
    assert [e.organization for e in entries[:3]] == ["ByteDance Seed", "Stanford University", "Yuntian Group"]
    assert entries[0].links["code"] == "https://github.com/justincui03/Self-Forcing-Plus-Plus"
    assert (entries[0].upvotes, entries[0].comments) == (43, 2)
    assert entries[0].ai_summary.startswith("A method is proposed to enhance long-hor")


def test_newest_schema_maps_every_field():
    first = parse(HF_DAILY / "2026-08-21.json").snapshot.entries[0]
    assert first.id == "2608.19880"
    assert first.title == "EnvHarness: Awakening Static Worlds for Agent Learning"
    assert (first.upvotes, first.comments, first.author_count, first.github_stars) == (163, 1, 17, 8)
    assert first.organization == "Google"
    assert first.links["code"] == "https://github.com/google-research/envharness"
    assert first.links["project"] == "https://envharness.com/"
    assert len(first.keywords) == 8 and first.keywords[0] == "LLM agents"
    assert first.ai_summary.startswith("EnvHarness and EnvRigger dynamically reshape")
    assert first.published == "2026-08-20"


def test_python_repr_array_is_salvaged_with_a_warning():
    parsed = parse(HF_DAILY / "2024-12-11.json")
    first = parsed.snapshot.entries[0]
    assert (first.id, first.upvotes, first.comments, first.author_count) == ("2412.07730", 54, 2, 17)
    assert first.title == "STIV: Scalable Text and Image Conditioned Video Generation"
    assert parsed.warnings == ("2024-12-11.json: salvaged 26 items stored as Python repr strings",)


def test_archive_wrapper_is_unwrapped_and_gives_the_day(tmp_path):
    renamed = tmp_path / "wrapped.json"
    shutil.copy(HF_DAILY / "2025-01-10.json", renamed)
    parsed = parse(renamed)
    assert parsed.snapshot.date.isoformat() == "2025-01-10"
    assert parsed.snapshot.entries[0].title == "The GAN is dead; long live the GAN! A Modern GAN Baseline"
    assert parsed.snapshot.entries[0].upvotes == 51
    assert any("archive wrapper" in w and "wrapped.json" in w for w in parsed.warnings)


def test_repr_salvage_never_evaluates_code(tmp_path):
    marker = tmp_path / "pwned"
    hostile = tmp_path / "2025-01-01.json"
    hostile.write_text(json.dumps([f"__import__('os').system('touch {marker}')"]))
    with pytest.raises(InputError, match="item 1: not a Python literal"):
        parse(hostile)
    assert not marker.exists()


def test_day_comes_from_content_when_the_name_has_none(tmp_path):
    renamed = tmp_path / "latest.json"
    shutil.copy(HF_DAILY / "2026-08-21.json", renamed)
    assert parse(renamed).snapshot.date.isoformat() == "2026-08-21"


def test_old_schema_without_a_dated_name_cannot_tell_its_day(tmp_path):
    renamed = tmp_path / "papers.json"
    shutil.copy(HF_DAILY / "2024-05-27.json", renamed)
    with pytest.raises(InputError, match="cannot tell the day"):
        parse(renamed)


def test_item_without_paper_and_paper_without_title_are_errors(tmp_path):
    path = tmp_path / "2025-01-01.json"
    path.write_text(json.dumps([{"title": "x"}]))
    with pytest.raises(InputError, match="item 1: has no 'paper' object"):
        parse(path)
    path.write_text(json.dumps([{"paper": {"id": "2501.00001", "title": "ok"}}, {"paper": {"id": "2501.00002"}}]))
    with pytest.raises(InputError, match="item 2: paper has no title"):
        parse(path)


def test_hostile_values_are_cleaned_on_import(tmp_path):
    path = tmp_path / "2025-01-01.json"
    path.write_text(json.dumps([{"paper": {
        "id": "2501.00001v3", "title": "<script>alert(1)</script> &\x00 \"quotes\"\u2028next",
        "githubRepo": "javascript:alert(1)", "projectPage": "https://ok.example/p", "upvotes": True,
    }}]))
    entry = parse(path).snapshot.entries[0]
    assert entry.id == "2501.00001"
    assert entry.title == '<script>alert(1)</script> & "quotes" next'
    assert entry.links["code"] is None and entry.links["project"] == "https://ok.example/p"
    assert entry.upvotes is None


def test_empty_array_is_an_empty_snapshot(tmp_path):
    path = tmp_path / "2025-01-04.json"
    path.write_text("[]")
    assert parse(path).snapshot.entries == ()

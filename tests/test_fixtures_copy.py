"""The repository's copy of the recorded fixtures is the shared original, byte for byte"""

import pytest
from conftest import SHARED_FIXTURES, VENDORED_FIXTURES


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for folder in ("hf-daily", "page-text", "hf-replay") for p in sorted((root / folder).rglob("*")) if p.is_file()}


def test_copy_is_complete_and_identical():
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("no ../shared/fixtures beside this checkout to compare with (a fork's CI)")
    shared, copy = files(SHARED_FIXTURES), files(VENDORED_FIXTURES)
    assert sorted(copy) == sorted(shared)
    assert [name for name in shared if copy[name] != shared[name]] == []
    assert (VENDORED_FIXTURES / "FIXTURES.md").read_bytes() == (SHARED_FIXTURES / "README.md").read_bytes()

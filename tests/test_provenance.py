"""A file's signature: size and time compared first, its bytes only when the time moved."""

from __future__ import annotations

import hashlib
import os

from agf.provenance import DIGEST_CHARS, file_signature, made_from_same_file, unchanged


def _touch(path, seconds: float) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + int(seconds * 1e9)))


def test_a_signature_is_size_time_and_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc" * 1000)
    stat = path.stat()
    assert file_signature(path) == f"3000:{stat.st_mtime_ns}"
    assert file_signature(path, content=True) == (f"3000:{stat.st_mtime_ns}:"
                                                  f"{hashlib.sha256(b'abc' * 1000).hexdigest()[:DIGEST_CHARS]}")
    assert file_signature(tmp_path / "gone.bin") is None


def test_same_bytes_under_a_new_time_are_unchanged_other_bytes_are_not(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc" * 1000)
    recorded = file_signature(path, content=True)
    assert unchanged(path, recorded)
    _touch(path, 60)
    assert unchanged(path, recorded)  # copied or restored: the bytes decide
    path.write_bytes(b"abd" * 1000)  # the same size, other bytes
    _touch(path, 120)
    assert not unchanged(path, recorded)
    path.write_bytes(b"abc" * 999)
    assert not unchanged(path, recorded)
    path.unlink()
    assert not unchanged(path, recorded)


def test_a_record_without_a_digest_cannot_tell_a_touched_file_and_counts_it_changed(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    old_record = file_signature(path)
    assert unchanged(path, old_record)
    _touch(path, 60)
    assert not unchanged(path, old_record)


def test_a_cache_entry_holds_unless_two_known_signatures_differ():
    assert made_from_same_file("10:20:abc", "10:20:abc")
    assert not made_from_same_file("10:20:abc", "10:30:def")  # decoded again: other audio
    assert made_from_same_file(None, "10:30:def") and made_from_same_file("", "10:30:def")  # older entries

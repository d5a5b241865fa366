"""``MediaStore.copy_to`` (the export's scratch copies), on disk and against a real S3 HTTP API (moto's server):
the bytes arrive whole, a file larger than one piece included; a missing or malformed name copies nothing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from app.media import LocalMediaStore, MediaStore
from app.media_s3 import S3MediaStore
from app.settings import Settings
from tests.fixtures_s3 import Bucket

BIG = os.urandom(3 * (1 << 20) + 12345)  # more than one 1 MiB piece, not a multiple of it


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1 << 18):
        yield data[start : start + (1 << 18)]


async def _check(store: MediaStore, tmp_path: Path) -> None:
    await store.save("media", "w-1.mp4", _chunks(BIG), "video/mp4")
    target = tmp_path / "copy.mp4"
    assert await store.copy_to("media", "w-1.mp4", target) is True
    assert target.read_bytes() == BIG
    assert await store.copy_to("media", "nothing.mp4", tmp_path / "none.mp4") is False
    assert await store.copy_to("uploads", "w-1.mp4", tmp_path / "other.mp4") is False  # another kind
    assert not (tmp_path / "none.mp4").exists() and not (tmp_path / "other.mp4").exists()


async def test_copy_to_on_disk(tmp_path: Path) -> None:
    (tmp_path / "uploads").mkdir()
    (tmp_path / "media").mkdir()
    (tmp_path / "out").mkdir()
    await _check(LocalMediaStore(tmp_path / "uploads", tmp_path / "media"), tmp_path / "out")


async def test_copy_to_from_the_bucket(s3_bucket: Bucket, tmp_path: Path) -> None:
    store = S3MediaStore.from_settings(Settings(_env_file=None, **s3_bucket.settings()))  # type: ignore[call-arg]
    await _check(store, tmp_path)
    assert await store.copy_to("media", "../escape.mp4", tmp_path / "x.mp4") is False

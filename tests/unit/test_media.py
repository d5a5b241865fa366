"""LocalMediaStore, through the MediaStore interface the services use (so an S3-compatible store can follow)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from app.errors import AppError
from app.media import LocalMediaStore, MediaStore


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return LocalMediaStore(tmp_path / "uploads", tmp_path / "media")


async def test_an_upload_is_kept_by_content_and_read_back(store: MediaStore) -> None:
    stored = store.save_upload(_png())
    assert stored.name.endswith(".png") and (stored.width, stored.height) == (4, 3)
    assert await store.has_upload(stored.name)
    assert await store.read_upload(stored.name) == _png()
    local = store.local_upload(stored.name)
    assert local is not None and local.read_bytes() == _png()


async def test_names_cannot_leave_the_folder(store: MediaStore, tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(b"x")
    assert not await store.has_upload("../secret.png")
    assert await store.read_upload("../secret.png") is None
    assert await store.read_upload("nothing.png") is None


def test_a_file_that_is_no_picture_is_refused(store: MediaStore, tmp_path: Path) -> None:
    with pytest.raises(AppError) as caught:
        store.save_upload(b"GIF89a not really")
    assert caught.value.code == "unsupported_media_type"
    assert list((tmp_path / "uploads").iterdir()) == []


async def test_a_video_is_stored_whole_or_not_at_all(store: MediaStore, tmp_path: Path) -> None:
    async def chunks(fail: bool) -> AsyncIterator[bytes]:
        yield b"a" * 10
        if fail:
            raise ValueError("the download broke")
        yield b"b" * 5

    with pytest.raises(ValueError):
        await store.save_video("w1-broken.mp4", chunks(fail=True))
    assert list((tmp_path / "media").iterdir()) == []

    await store.save_video("w1-ok.mp4", chunks(fail=False))
    assert (tmp_path / "media" / "w1-ok.mp4").read_bytes() == b"a" * 10 + b"b" * 5

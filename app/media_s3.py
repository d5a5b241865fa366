"""``MEDIA_STORE=s3``: uploads and videos in an S3-compatible bucket (PROTOCOL.md 9.2), through obstore.

Keys: ``uploads/<name>`` (checked pictures, later audio), ``media/<name>`` (renders, downloaded videos, later
exports), ``incoming/<name>/<declared size>[/<project>]`` (a client's direct upload until
``POST /api/upload/commit`` has checked it; never served). ``/uploads/<name>`` and ``/media/<name>`` answer 307
to a presigned GET URL, after a HEAD (a missing object is our 404, not the bucket's).

The obstore client runs on its own Rust runtime: it is bound to no event loop (sync calls work from threads, async
ones from any loop) and has nothing to close, so the app's lifespan owns no S3 resource.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore
from obstore.store import S3Store
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.media import DirectObject, Kind, PresignedPut, ServedFileHeaders, StoredImage, inspect_image
from app.settings import Settings

_KNOWN_MAX = 10_000  # names this process stored or saw in the bucket (objects are never replaced)
_COPY_CHUNK = 1 << 20  # bytes per piece when a file is copied out of the bucket (the export's scratch copies)


def _bare(name: str) -> str | None:
    """A name as we make them (no folder, no dot file); None for anything else."""
    return name if name and name == Path(name).name and not name.startswith(".") else None


class S3MediaStore:
    def __init__(self, store: S3Store, *, expires_s: int) -> None:
        self.store = store
        self.expires = timedelta(seconds=expires_s)
        self._known: OrderedDict[str, None] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3MediaStore:
        if not settings.s3_bucket:
            raise RuntimeError("MEDIA_STORE=s3 needs S3_BUCKET")
        config: dict[str, Any] = {
            "region": settings.s3_region,
            "virtual_hosted_style_request": not settings.s3_force_path_style,
        }
        if settings.s3_endpoint:
            config["endpoint"] = settings.s3_endpoint
        if settings.s3_access_key_id and settings.s3_secret_access_key:
            config["access_key_id"] = settings.s3_access_key_id
            config["secret_access_key"] = settings.s3_secret_access_key.get_secret_value()
        store = S3Store(
            settings.s3_bucket,
            config=config,  # type: ignore[arg-type]  # S3Config is a TypedDict of these keys
            client_options={
                "allow_http": (settings.s3_endpoint or "").startswith("http://"),
                "connect_timeout": timedelta(seconds=5),
                "timeout": timedelta(seconds=60),
            },
            retry_config={"max_retries": 3, "retry_timeout": timedelta(seconds=15)},
        )
        return cls(store, expires_s=settings.presign_expires_s)

    def _remember(self, key: str) -> None:
        self._known[key] = None
        self._known.move_to_end(key)
        while len(self._known) > _KNOWN_MAX:
            self._known.popitem(last=False)

    # ---- the generic interface ---------------------------------------------------------------------------

    async def save(self, kind: Kind, name: str, chunks: AsyncIterable[bytes], content_type: str) -> None:
        key = f"{kind}/{_bare(name) or 'invalid'}"
        # A streamed put is a multipart upload: the object exists only once it completes (a failure aborts it).
        await obstore.put_async(self.store, key, chunks, attributes={"Content-Type": content_type})
        self._remember(key)

    async def read(self, kind: Kind, name: str) -> bytes | None:
        if _bare(name) is None:
            return None
        try:
            result = await obstore.get_async(self.store, f"{kind}/{name}")
            return bytes(await result.bytes_async())
        except FileNotFoundError:
            return None

    async def copy_to(self, kind: Kind, name: str, target: Path) -> bool:
        if _bare(name) is None:
            return False
        try:
            result = await obstore.get_async(self.store, f"{kind}/{name}")
        except FileNotFoundError:
            return False
        with target.open("wb") as out:  # opened here, each write in a thread
            async for chunk in result.stream(min_chunk_size=_COPY_CHUNK):
                await asyncio.to_thread(out.write, chunk)
        return True

    async def _exists(self, key: str) -> bool:
        if key in self._known:
            return True
        try:
            await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        self._remember(key)
        return True

    async def presign_get(self, kind: Kind, name: str) -> str | None:
        if _bare(name) is None or not await self._exists(f"{kind}/{name}"):
            return None
        return await obstore.sign_async(self.store, "GET", f"{kind}/{name}", self.expires)

    # ---- pictures and videos -----------------------------------------------------------------------------

    def save_upload(self, data: bytes) -> StoredImage:
        ext, content_type, width, height = inspect_image(data)
        name = f"{secrets.token_hex(12)}.{ext}"
        obstore.put(self.store, f"uploads/{name}", data, attributes={"Content-Type": content_type})
        self._remember(f"uploads/{name}")
        return StoredImage(name, content_type, width, height, len(data))

    async def has_upload(self, name: str) -> bool:
        """Answered from memory for what this process stored or saw, else by one HEAD (an upload made through
        another process), awaited: the event loop never waits on the bucket."""
        if _bare(name) is None:
            return False
        key = f"uploads/{name}"
        if key in self._known:
            return True
        try:
            await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        self._remember(key)
        return True

    async def read_upload(self, name: str) -> bytes | None:
        return await self.read("uploads", name)

    def local_upload(self, name: str) -> Path | None:
        return None  # the offline renderer writes read_upload's bytes into its task folder

    async def save_video(self, name: str, chunks: AsyncIterable[bytes]) -> None:
        await self.save("media", name, chunks, "video/mp4")

    def app(self, kind: Kind) -> ASGIApp:
        return ServedFileHeaders(_Redirect(self, kind))

    # ---- direct uploads (DirectUploads) ------------------------------------------------------------------

    async def presign_put(self, name: str, content_type: str, size: int, project: str | None) -> PresignedPut:
        key = f"incoming/{name}/{size}" + (f"/{project}" if project else "")  # signed: the client cannot alter it
        url = await obstore.sign_async(self.store, "PUT", key, self.expires)
        return PresignedPut(url, "PUT", {"Content-Type": content_type})

    async def _incoming(self, name: str) -> list[tuple[str, int]]:
        if _bare(name) is None:
            return []
        found = await obstore.list(self.store, f"incoming/{name}").collect_async()
        return [(meta["path"], meta["size"]) for meta in found]

    async def take_direct(self, name: str, limit: int) -> DirectObject | None:
        found = await self._incoming(name)
        if not found:
            return None
        key, size = found[0]
        declared, _, project = key.split("/", 2)[2].partition("/")
        data = b""
        if 0 < size <= limit:  # a larger one is refused unread; limit + 1 bytes would tell no more
            data = bytes(await obstore.get_range_async(self.store, key, start=0, end=min(size, limit + 1)))
        return DirectObject(data, size, int(declared), project or None)

    async def accept_direct(self, name: str, data: bytes, content_type: str) -> None:
        # our copy of the checked bytes, with our content type: whatever the client PUT again meanwhile is not it
        await obstore.put_async(self.store, f"uploads/{name}", data, attributes={"Content-Type": content_type})
        self._remember(f"uploads/{name}")
        await self.drop_direct(name)

    async def drop_direct(self, name: str) -> None:
        keys = [key for key, _ in await self._incoming(name)]
        if keys:
            await obstore.delete_async(self.store, keys)


class _Redirect:
    """``GET``/``HEAD /uploads/<name>`` or ``/media/<name>`` → 307 to a presigned URL; 404 when there is no such
    object, 405 for other methods (raised: the app's handler answers, ``ServedFileHeaders`` adds the headers)."""

    def __init__(self, store: S3MediaStore, kind: Kind) -> None:
        self.store = store
        self.kind: Kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise HTTPException(404)
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        name = (path[len(root) :] if root and path.startswith(root) else path).lstrip("/")
        url = await self.store.presign_get(self.kind, name)
        if url is None:
            raise HTTPException(404)
        # not cached: the URL expires, and the next request may be checked against another token (9.1)
        response = RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
        await response(scope, receive, send)

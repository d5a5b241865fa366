"""S3 fixtures (loaded by tests/conftest.py): a real S3 HTTP API in its own server thread on loopback (moto's
``ThreadedMotoServer``, path-style addressing), a fresh bucket per test, and the settings/environment that point
a server at it. Tests using them need the ``s3`` extra (obstore) and ``moto[server]``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.db import free_port

REGION = "us-east-1"
KEY_ID, SECRET = "testing-key-id", "testing-secret"


@dataclass(frozen=True)
class Bucket:
    endpoint: str
    name: str

    def settings(self) -> dict[str, Any]:
        """Overrides for ``start_server``: MEDIA_STORE=s3 on this bucket."""
        return {
            "media_store": "s3",
            "s3_endpoint": self.endpoint,
            "s3_region": REGION,
            "s3_bucket": self.name,
            "s3_access_key_id": KEY_ID,
            "s3_secret_access_key": SecretStr(SECRET),
            "s3_force_path_style": True,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables, for ``python -m app`` (ServerProcess)."""
        return {
            "MEDIA_STORE": "s3",
            "S3_ENDPOINT": self.endpoint,
            "S3_REGION": REGION,
            "S3_BUCKET": self.name,
            "S3_ACCESS_KEY_ID": KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET,
            "S3_FORCE_PATH_STYLE": "true",
        }

    def client(self) -> Any:
        """An obstore client of this bucket (the one the server uses, built the same way)."""
        from app.media_s3 import S3MediaStore
        from app.settings import Settings

        return S3MediaStore.from_settings(Settings(_env_file=None, **self.settings())).store  # type: ignore[call-arg]

    async def keys(self, prefix: str | None = None) -> list[str]:
        import obstore

        found = await obstore.list(self.client(), prefix).collect_async()
        return sorted(meta["path"] for meta in found)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("obstore", reason="the s3 extra (obstore) is not installed")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Bucket:
    """A new, empty bucket for this test (created over the S3 API: moto does not check signatures)."""
    name = "t-" + uuid.uuid4().hex[:20]
    httpx.put(f"{s3_endpoint}/{name}").raise_for_status()
    return Bucket(s3_endpoint, name)

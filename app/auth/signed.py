"""Signed, expiring media URLs for providers (providers behind auth): ``/uploads/<name>?exp=<unix>&sig=<hmac>``.

A provider fetching the picture of a generation has no token; it gets a URL good for that one file until
``exp``. ``sig`` is HMAC-SHA256 over ``path + "\\n" + exp`` with a key derived from the server's own secret
(``AUTH_JWT_SECRET``, else ``AUTH_TOKEN``: an HMAC of a fixed label, so every process of a deployment derives
the same key and the secret itself never signs anything). With only ``AUTH_JWT_PUBLIC_KEY`` there is no shared
secret: a random key per process is used (a URL is then only accepted by the process that made it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from app.settings import Settings

_LABEL = b"workspace-server signed media url v1"
_PROCESS_KEY = secrets.token_bytes(32)  # only when no shared secret is configured (see the module docstring)
DEFAULT_TTL_S = 600


def signing_key(settings: Settings) -> bytes:
    secret = settings.auth_jwt_secret or settings.auth_token
    if secret is None:
        return _PROCESS_KEY
    return hmac.new(secret.get_secret_value().encode(), _LABEL, hashlib.sha256).digest()


def _signature(key: bytes, path: str, exp: int) -> str:
    return hmac.new(key, f"{path}\n{exp}".encode(), hashlib.sha256).hexdigest()


def sign_path(key: bytes, path: str, ttl_s: float, *, now: float | None = None) -> str:
    """``path?exp=...&sig=...`` for a path such as ``/uploads/<name>``."""
    exp = int((time.time() if now is None else now) + ttl_s)
    return f"{quote(path)}?exp={exp}&sig={_signature(key, path, exp)}"


def check_signature(key: bytes, path: str, exp: str, sig: str, *, now: float | None = None) -> int | None:
    """The expiry (unix seconds) when ``sig`` signs exactly ``path`` until ``exp`` and that is still ahead."""
    if not exp.isdigit() or len(exp) > 12:
        return None
    expires = int(exp)
    if expires < (time.time() if now is None else now):
        return None
    return expires if hmac.compare_digest(_signature(key, path, expires), sig) else None


def signed_media_url(settings: Settings, base: str, path: str) -> str:
    """The URL a provider is handed for ``path`` (``uploads/<name>``): plain without authentication, else signed
    for ``PRESIGN_EXPIRES_S`` (default 600 s)."""
    url_path = "/" + path.lstrip("/")
    if not (settings.auth_token or settings.auth_jwt_secret or settings.auth_jwt_public_key):
        return f"{base.rstrip('/')}{url_path}"
    ttl = float(getattr(settings, "presign_expires_s", DEFAULT_TTL_S))
    return f"{base.rstrip('/')}{sign_path(signing_key(settings), url_path, ttl)}"

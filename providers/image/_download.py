"""Getting the picture bytes out of a provider's answer: a size-capped GET of its URL, or base64 from its JSON.

The GET is one small replaceable function (``Fetch``) because a provider's URL is untrusted input: the app passes
its own fetcher that refuses private addresses. The default never sends the API key (picture URLs are public or
signed) and never names the URL in an error (signed URLs carry tokens).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

import httpx

from providers.errors import ProviderBadResponse
from providers.http import classify_http_error, transport_error

Fetch = Callable[[str], Awaitable[bytes]]

MAX_PICTURE_BYTES = 20 * 1024 * 1024  # far above a 4K PNG keyframe; far below what would hurt the server


def too_large(provider: str, max_bytes: int) -> ProviderBadResponse:
    limit = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    return ProviderBadResponse(f"{provider}: the picture is larger than {limit}", provider=provider)


def bounded_fetch(http: httpx.AsyncClient, *, provider: str, max_bytes: int = MAX_PICTURE_BYTES) -> Fetch:
    """A ``Fetch`` that GETs with ``http`` and stops reading past ``max_bytes`` (whatever Content-Length says).
    408/429/5xx stay retryable (``classify_http_error``); any other failure is a bad response, not an auth error:
    our key is not what the download used."""

    async def fetch(url: str) -> bytes:
        try:
            async with http.stream("GET", url) as response:
                if response.status_code >= 400:
                    message = f"{provider}: downloading the picture failed (HTTP {response.status_code})"
                    code = response.status_code
                    if code in (408, 409, 429) or code >= 500:
                        raise classify_http_error(response, message, provider=provider)
                    raise ProviderBadResponse(message, provider=provider, status_code=code)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise too_large(provider, max_bytes)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_large(provider, max_bytes)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise transport_error(exc, provider=provider) from exc

    return fetch


def decode_base64(text: str, *, provider: str, max_bytes: int = MAX_PICTURE_BYTES) -> bytes:
    """Base64 (or a ``data:...;base64,`` URI) to bytes, refusing text that cannot decode within ``max_bytes``."""
    if text.startswith("data:"):
        header, sep, text = text.partition(",")
        if not sep or not header.endswith(";base64"):
            raise ProviderBadResponse(f"{provider}: the picture data URI is not base64", provider=provider)
    if len(text) > (max_bytes + 2) // 3 * 4 + 4:  # the longest base64 of max_bytes, padding included
        raise too_large(provider, max_bytes)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderBadResponse(f"{provider}: the picture is not valid base64", provider=provider) from exc

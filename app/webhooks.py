"""Signature checks of provider callbacks (PROVIDERS.md 16), pure: the caller hands in headers, the raw body, the
keys or secret and the time, and gets ``None`` or a ``SignatureRefused`` saying why.

- fal: Ed25519 over ``request_id + "\\n" + user_id + "\\n" + timestamp + "\\n" + sha256_hex(body)``, from the headers
  ``X-Fal-Webhook-Request-Id``, ``-User-Id``, ``-Timestamp`` and ``-Signature`` (hex), with any key of fal's JWKS
  (``OKP``/``Ed25519``).
- Standard Webhooks (Replicate): HMAC-SHA256 over ``id + "." + timestamp + "." + body`` from ``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature`` (space-separated ``v1,<base64>``), keyed with the base64-decoded
  secret (its ``whsec_`` prefix dropped).

Both refuse a timestamp more than ``TOLERANCE_S`` away from now, either way (a replayed callback).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_S = 300.0  # 5 minutes, both ways

FAL_REQUEST_ID = "x-fal-webhook-request-id"
FAL_USER_ID = "x-fal-webhook-user-id"
FAL_TIMESTAMP = "x-fal-webhook-timestamp"
FAL_SIGNATURE = "x-fal-webhook-signature"


class SignatureRefused(Exception):
    """A callback whose signature is missing, wrong or stale. ``reason`` is a short label (for metrics)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _fresh(timestamp: str, now: float, tolerance_s: float) -> None:
    try:
        sent = int(timestamp.strip())
    except ValueError:
        raise SignatureRefused("malformed", "the timestamp is not an integer") from None
    if abs(now - sent) > tolerance_s:
        raise SignatureRefused("stale", f"the timestamp is {now - sent:+.0f} s off (at most {tolerance_s:g})")


# --- fal: Ed25519 ----------------------------------------------------------------------------------------------------


def parse_jwks(data: Any) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS document (others, and malformed entries, are skipped)."""
    keys: list[Ed25519PublicKey] = []
    entries = data.get("keys") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        x = entry.get("x")
        if not isinstance(x, str):
            continue
        try:
            keys.append(Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))))
        except (ValueError, binascii.Error):
            continue
    return keys


def fal_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    return "\n".join((request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())).encode()


def verify_fal(
    headers: Mapping[str, str],
    body: bytes,
    keys: Sequence[Ed25519PublicKey],
    *,
    now: float,
    tolerance_s: float = TOLERANCE_S,
) -> str:
    """Check a fal webhook; returns its (signed) request id. Raises ``SignatureRefused``."""
    h = _lower(headers)
    values = [h.get(name, "") for name in (FAL_REQUEST_ID, FAL_USER_ID, FAL_TIMESTAMP, FAL_SIGNATURE)]
    if not all(values):
        raise SignatureRefused("missing", "the fal signature headers are missing")
    request_id, user_id, timestamp, signature = values
    _fresh(timestamp, now, tolerance_s)
    try:
        raw = bytes.fromhex(signature.strip())
    except ValueError:
        raise SignatureRefused("malformed", "the signature is not hex") from None
    message = fal_message(request_id, user_id, timestamp, body)
    for key in keys:
        try:
            key.verify(raw, message)
        except InvalidSignature:
            continue
        return request_id
    raise SignatureRefused("bad_signature", "no key of fal's JWKS verifies the signature")


# --- Standard Webhooks: HMAC-SHA256 ----------------------------------------------------------------------------------


def _secret_bytes(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("a Standard Webhooks secret is base64 (optionally prefixed whsec_)") from None


def sign_standard(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` value (one ``v1,<base64>``) for this message."""
    mac = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify_standard(
    headers: Mapping[str, str], body: bytes, secret: str, *, now: float, tolerance_s: float = TOLERANCE_S
) -> str:
    """Check a Standard Webhooks callback; returns its ``webhook-id``. Raises ``SignatureRefused``."""
    h = _lower(headers)
    msg_id, timestamp, signatures = h.get("webhook-id", ""), h.get("webhook-timestamp", ""), h.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise SignatureRefused("missing", "the webhook-id/-timestamp/-signature headers are missing")
    _fresh(timestamp, now, tolerance_s)
    expected = sign_standard(secret, msg_id, timestamp, body).encode()
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise SignatureRefused("bad_signature", "no v1 signature matches")

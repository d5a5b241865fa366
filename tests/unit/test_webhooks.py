"""The pure callback signature checks (app/webhooks.py): fal's Ed25519 and Standard Webhooks' HMAC, each refusing a
wrong key, a changed body, a missing header and a stale timestamp."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from app.webhooks import SignatureRefused, parse_jwks, sign_standard, verify_fal, verify_standard
from tests.fakes.fal import Signer

NOW = 1_780_000_000
BODY = b'{"request_id": "r-1", "status": "OK"}'
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_fal_signature_over_the_documented_message_is_accepted() -> None:
    """request_id, user_id, timestamp and sha256_hex(body), newline-joined, signed by a JWKS key: accepted."""
    signer = Signer()
    keys = parse_jwks({"keys": [{"kty": "RSA", "n": "x"}, signer.jwk]})
    assert len(keys) == 1
    assert verify_fal(signer.headers("r-1", BODY, timestamp=NOW), BODY, keys, now=NOW + 10) == "r-1"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("other_key", "bad_signature"),
        ("body", "bad_signature"),
        ("request_id", "bad_signature"),
        ("stale", "stale"),
        ("future", "stale"),
        ("missing", "missing"),
        ("not_hex", "malformed"),
    ],
)
def test_fal_signature_refusals(change: str, reason: str) -> None:
    signer = Signer()
    keys = parse_jwks({"keys": [signer.jwk]})
    body, now = BODY, NOW
    headers = (Signer() if change == "other_key" else signer).headers("r-1", BODY, timestamp=NOW)
    if change == "body":
        body = BODY.replace(b"OK", b"KO")
    elif change == "request_id":
        headers["X-Fal-Webhook-Request-Id"] = "r-2"
    elif change == "stale":
        now = NOW + 301
    elif change == "future":
        now = NOW - 301
    elif change == "missing":
        del headers["X-Fal-Webhook-Signature"]
    elif change == "not_hex":
        headers["X-Fal-Webhook-Signature"] = "zz"
    with pytest.raises(SignatureRefused) as refused:
        verify_fal(headers, body, keys, now=now)
    assert refused.value.reason == reason


def test_fal_with_no_keys_refuses() -> None:
    signer = Signer()
    with pytest.raises(SignatureRefused):
        verify_fal(signer.headers("r-1", BODY, timestamp=NOW), BODY, parse_jwks({"keys": []}), now=NOW)


def test_standard_webhooks_signature_matches_the_spec() -> None:
    """HMAC-SHA256 of ``id.timestamp.body`` keyed with the base64-decoded secret (``whsec_`` dropped), base64."""
    expected = base64.b64encode(
        hmac.new(b"0123456789abcdef0123456789abcdef", b"msg_1.1780000000." + BODY, hashlib.sha256).digest()
    ).decode()
    assert sign_standard(SECRET, "msg_1", str(NOW), BODY) == f"v1,{expected}"


def test_standard_webhooks_accepts_any_listed_v1_signature() -> None:
    good = sign_standard(SECRET, "msg_1", str(NOW), BODY)
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(NOW), "Webhook-Signature": f"v1,AAAA {good}"}
    assert verify_standard(headers, BODY, SECRET, now=NOW + 299) == "msg_1"


@pytest.mark.parametrize("change", ["secret", "body", "id", "stale", "missing", "scheme"])
def test_standard_webhooks_refusals(change: str) -> None:
    signature = sign_standard(SECRET, "msg_1", str(NOW), BODY)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    body, secret, now = BODY, SECRET, NOW
    if change == "secret":
        secret = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
    elif change == "body":
        body = BODY + b" "
    elif change == "id":
        headers["webhook-id"] = "msg_2"
    elif change == "stale":
        now = NOW + 301
    elif change == "missing":
        del headers["webhook-signature"]
    elif change == "scheme":
        headers["webhook-signature"] = signature.replace("v1,", "v1a,")
    with pytest.raises(SignatureRefused):
        verify_standard(headers, body, secret, now=now)

"""The verifier (PROTOCOL.md 6, 9.1) and signed media URLs (issue 14 item 4), without a server."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from app.auth import ADMIN_KEY, ANONYMOUS, AuthError, Verifier, check_signature, sign_path

SECRET = "unit-test-secret-" + "x" * 64


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "ann", "role": "editor", "projects": ["a"], "exp": int(time.time() + 60), **extra}


def pem(key: Any) -> str:
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return public.decode()


def test_auth_off_is_anonymous_and_auth_token_is_the_admin_key() -> None:
    """Without settings everything is allowed; AUTH_TOKEN is compared exactly and gives every project."""
    assert Verifier().verify(None) is ANONYMOUS
    verifier = Verifier(token="k3y")
    assert verifier.verify("k3y") is ADMIN_KEY and ADMIN_KEY.may_open("any") and ADMIN_KEY.is_admin
    assert ADMIN_KEY.expires_at is None
    for bad in (None, "", "k3y ", "k3", "K3Y"):
        with pytest.raises(AuthError):
            verifier.verify(bad)


def test_hs256_claims_make_the_principal() -> None:
    """sub, role, projects and exp come from the token; "*" means every project."""
    verifier = Verifier(jwt_secret=SECRET)
    p = verifier.verify(jwt.encode(claims(), SECRET, algorithm="HS256"))
    assert (p.sub, p.role, p.projects, p.can_edit, p.is_admin) == ("ann", "editor", frozenset({"a"}), True, False)
    assert p.may_open("a") and not p.may_open("b") and p.expires_at is not None
    star = verifier.verify(jwt.encode(claims(projects=["*"], role="viewer"), SECRET, algorithm="HS256"))
    assert star.projects is None and star.may_open("b") and not star.can_edit


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": None},  # no exp
        {"exp": int(time.time() - 10)},  # expired beyond the 5 s leeway
        {"role": None},
        {"role": "owner"},
        {"projects": "a"},
        {"projects": [1]},
    ],
)
def test_refused_claims(bad: dict[str, Any]) -> None:
    body = {k: v for k, v in claims(**bad).items() if v is not None}
    with pytest.raises(AuthError):
        Verifier(jwt_secret=SECRET).verify(jwt.encode(body, SECRET, algorithm="HS256"))


def test_leeway_is_five_seconds() -> None:
    verifier = Verifier(jwt_secret=SECRET)
    assert verifier.verify(jwt.encode(claims(exp=int(time.time() - 2)), SECRET, algorithm="HS256")).sub == "ann"


def test_a_wrong_secret_or_the_none_algorithm_is_refused() -> None:
    verifier = Verifier(jwt_secret=SECRET)
    for value in (
        jwt.encode(claims(), SECRET + "x", algorithm="HS256"),
        jwt.encode(claims(), None, algorithm="none"),
        jwt.encode(claims(), SECRET, algorithm="HS512"),
        "a.b.c",
    ):
        with pytest.raises(AuthError):
            verifier.verify(value)


@pytest.mark.parametrize(
    ("make", "alg"),
    [
        (lambda: rsa.generate_private_key(65537, 2048), "RS256"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (ed25519.Ed25519PrivateKey.generate, "EdDSA"),
    ],
)
def test_public_keys_take_only_their_own_algorithm(make: Any, alg: str) -> None:
    """A PEM public key accepts tokens of its type only: not HS256, not another key's algorithm."""
    key = make()
    verifier = Verifier(jwt_public_key=pem(key))
    assert verifier.verify(jwt.encode(claims(), key, algorithm=alg)).sub == "ann"
    other_key = ec.generate_private_key(ec.SECP256R1()) if alg != "ES256" else ed25519.Ed25519PrivateKey.generate()
    other_alg = "ES256" if alg != "ES256" else "EdDSA"
    for value in (
        jwt.encode(claims(), SECRET, algorithm="HS256"),
        jwt.encode(claims(), other_key, algorithm=other_alg),
    ):
        with pytest.raises(AuthError):
            verifier.verify(value)
    escaped = Verifier(jwt_public_key=pem(key).replace("\n", "\\n"))  # a PEM on one line of .env
    assert escaped.verify(jwt.encode(claims(), key, algorithm=alg)).sub == "ann"


def test_audience_and_issuer_are_checked_when_set() -> None:
    verifier = Verifier(jwt_secret=SECRET, audience="timeline", issuer="https://idp.test")
    good = claims(aud="timeline", iss="https://idp.test")
    assert verifier.verify(jwt.encode(good, SECRET, algorithm="HS256")).sub == "ann"
    for bad in ({**good, "aud": "other"}, {**good, "iss": "https://evil.test"}, claims(iss="https://idp.test")):
        with pytest.raises(AuthError):
            verifier.verify(jwt.encode(bad, SECRET, algorithm="HS256"))
    unset = Verifier(jwt_secret=SECRET)  # not configured: not checked
    assert unset.verify(jwt.encode({**good, "aud": "whatever"}, SECRET, algorithm="HS256")).sub == "ann"


def test_signed_paths_are_for_one_path_until_exp() -> None:
    key = b"k" * 32
    url = sign_path(key, "/uploads/a.png", 60, now=1000)
    query = dict(p.split("=") for p in url.partition("?")[2].split("&"))
    assert check_signature(key, "/uploads/a.png", query["exp"], query["sig"], now=1059) == 1060
    assert check_signature(key, "/uploads/a.png", query["exp"], query["sig"], now=1061) is None
    assert check_signature(key, "/uploads/b.png", query["exp"], query["sig"], now=1000) is None
    assert check_signature(key, "/uploads/a.png", "1070", query["sig"], now=1000) is None
    assert check_signature(b"x" * 32, "/uploads/a.png", query["exp"], query["sig"], now=1000) is None

"""Who a request is (``Principal``) and the one ``Verifier`` that says so (PROTOCOL.md 6 and 9.1).

Accepted credentials: ``AUTH_TOKEN`` (compared in constant time; the all-projects admin key) and JSON Web Tokens,
HS256 with ``AUTH_JWT_SECRET`` or RS256/ES256/EdDSA with ``AUTH_JWT_PUBLIC_KEY``. Only the algorithm that fits
each configured key is passed to ``jwt.decode``, so a token signed with another (``none``, HS256 keyed with the
public PEM, ...) is refused. ``exp`` and ``role`` are required; ``aud``/``iss`` are checked when configured.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import jwt

if TYPE_CHECKING:
    from app.settings import Settings

Role = Literal["viewer", "editor", "admin"]
ROLES: frozenset[str] = frozenset(get_args(Role))
LEEWAY_S = 5.0  # clock leeway on exp (PROTOCOL.md 9.1)
ALL = "*"


class AuthError(Exception):
    """A credential that is missing, malformed, expired, or not ours. The message names no part of it."""


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    projects: frozenset[str] | None  # None: every project
    expires_at: datetime | None = None  # None: never (AUTH_TOKEN, or authentication off)
    only_path: str | None = None  # a signed media URL: this one file and nothing else

    def may_open(self, project: str) -> bool:
        if self.only_path is not None:
            return False
        return self.projects is None or project in self.projects

    @property
    def can_edit(self) -> bool:
        return self.only_path is None and self.role in ("editor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.only_path is None and self.role == "admin"


ANONYMOUS = Principal("anonymous", "admin", None)  # authentication is off: everything is allowed
ADMIN_KEY = Principal("auth-token", "admin", None)  # AUTH_TOKEN


def user_of(principal: Principal) -> str | None:
    """The person a token names (its ``sub``), for presence and history (PROTOCOL.md 10); None without
    per-project tokens (authentication off, or the all-projects AUTH_TOKEN)."""
    return None if principal in (ANONYMOUS, ADMIN_KEY) else principal.sub


def _public_key_algorithms(pem: str) -> tuple[Any, list[str]]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode())
    if isinstance(key, rsa.RSAPublicKey):
        return key, ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, ["ES256"]
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return key, ["EdDSA"]
    raise ValueError("AUTH_JWT_PUBLIC_KEY must be an RSA, P-256 or Ed25519/Ed448 public key")


def _read_pem(value: str) -> str:
    text = value.strip()
    if not text.startswith("-----BEGIN") and Path(text).is_file():
        text = Path(text).read_text()
    return text.replace("\\n", "\n")


class Verifier:
    def __init__(
        self,
        *,
        token: str | None = None,
        jwt_secret: str | None = None,
        jwt_public_key: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        self._token = token.encode() if token else None
        self._keys: list[tuple[Any, list[str]]] = []
        if jwt_secret:
            self._keys.append((jwt_secret, ["HS256"]))
        if jwt_public_key:
            self._keys.append(_public_key_algorithms(_read_pem(jwt_public_key)))
        self.audience = audience
        self.issuer = issuer

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        return cls(
            token=settings.auth_token.get_secret_value() if settings.auth_token else None,
            jwt_secret=settings.auth_jwt_secret.get_secret_value() if settings.auth_jwt_secret else None,
            jwt_public_key=settings.auth_jwt_public_key,
            audience=settings.auth_jwt_audience,
            issuer=settings.auth_jwt_issuer,
        )

    @property
    def enabled(self) -> bool:
        return self._token is not None or bool(self._keys)

    def verify(self, presented: str | None) -> Principal:
        """The principal of a presented credential; ``ANONYMOUS`` when authentication is off."""
        if not self.enabled:
            return ANONYMOUS
        if not presented:
            raise AuthError("missing token")
        if self._token is not None and hmac.compare_digest(presented.encode(), self._token):
            return ADMIN_KEY
        if not self._keys or presented.count(".") != 2:
            raise AuthError("wrong token")
        return self._decode(presented)

    def _decode(self, token: str) -> Principal:
        try:
            alg = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise AuthError("malformed token") from exc
        matching = [(key, algorithms) for key, algorithms in self._keys if alg in algorithms]
        if not matching:
            raise AuthError("token algorithm not accepted")
        key, algorithms = matching[0]
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={
                    "require": ["exp", *(["aud"] if self.audience else []), *(["iss"] if self.issuer else [])],
                    "verify_aud": self.audience is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("invalid token") from exc
        return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise AuthError("token role must be viewer, editor or admin")
    projects = claims.get("projects", [])
    if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
        raise AuthError("token projects must be a list of project names")
    exp = claims["exp"]
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise AuthError("token exp must be a number")
    sub = claims.get("sub")
    return Principal(
        sub=sub if isinstance(sub, str) and sub else "unknown",
        role=role,
        projects=None if ALL in projects else frozenset(projects),
        expires_at=datetime.fromtimestamp(exp, UTC),
    )

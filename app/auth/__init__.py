"""Authentication and access per project (PROTOCOL.md 6 and 9.1): principals, the token verifier, signed media
URLs, and who owns which media file."""

from app.auth.media import MediaAccess, owner_of, principal_in, record_owner, remember_owner
from app.auth.signed import check_signature, sign_path, signed_media_url, signing_key
from app.auth.tokens import ADMIN_KEY, ANONYMOUS, AuthError, Principal, Role, Verifier, user_of

__all__ = [
    "ADMIN_KEY",
    "ANONYMOUS",
    "AuthError",
    "MediaAccess",
    "Principal",
    "Role",
    "Verifier",
    "check_signature",
    "owner_of",
    "principal_in",
    "record_owner",
    "remember_owner",
    "sign_path",
    "signed_media_url",
    "signing_key",
    "user_of",
]

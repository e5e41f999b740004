"""API tokens: created and revoked by their owner on the site, checked by the REST API.

A token reads ``elue_<prefix>_<secret>``. The prefix finds the row; only a SHA-256 hash of
the secret is stored, so a leaked database does not leak usable tokens. A token is shown
once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from leaderboard.models import ApiToken

TOKEN_PREFIX = "elue"
EXPIRY_CHOICES: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "never": None}
DEFAULT_EXPIRY = "90"
LAST_USED_PRECISION = timedelta(minutes=1)  # how stale "last used" may be on the tokens page


class TokenInvalid(Exception):
    """A token that is malformed, unknown, revoked or expired; the message says which."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str  # shown to the user once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user, name: str, expires_in_days: int | None = 90) -> NewToken:
    """A new token for ``user``; ``expires_in_days=None`` never expires."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires_at = (timezone.now() + timedelta(days=expires_in_days)
                  if expires_in_days is not None else None)
    token = ApiToken.objects.create(user=user, name=name.strip() or "API token", prefix=prefix,
                                    secret_hash=_hash(secret), expires_at=expires_at)
    return NewToken(token, f"{TOKEN_PREFIX}_{prefix}_{secret}")


def authenticate_token(plaintext: str) -> ApiToken:
    """The active token ``plaintext`` stands for; raises ``TokenInvalid`` saying why not."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise TokenInvalid("malformed API token: expected elue_<prefix>_<secret>")
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(parts[2])):
        raise TokenInvalid("unknown or revoked API token")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenInvalid(f"API token {token.name!r} expired on "
                           f"{token.expires_at:%Y-%m-%d}; create a new one on the site")
    if not token.user.is_active:
        raise TokenInvalid("the account this token belongs to is disabled")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        # At most one write a minute per token: a script polling the API must not take the
        # database's write lock (SQLite: the whole file) on every request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def revoke_token(user, token_id: int) -> bool:
    """Delete one of ``user``'s tokens; returns whether there was one."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)

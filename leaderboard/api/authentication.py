"""API token authentication: ``Authorization: Bearer <token>`` (or ``Token <token>``)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from leaderboard.tokens import TokenInvalid, authenticate_token

KEYWORDS = ("bearer", "token")


class TokenAuthentication(authentication.BaseAuthentication):
    """Checks the token with ``leaderboard.tokens``; a bad one fails with the reason (e.g.
    "expired on 2026-01-31"), so that scripts and the ``elue`` client can tell the user."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in KEYWORDS:
            return None  # not ours: session authentication may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "invalid Authorization header: expected 'Bearer <token>' with no spaces in "
                "the token")
        try:
            token = authenticate_token(header[1])
        except TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Present so that a missing or bad token is 401 (with this challenge), not 403.
        return 'Bearer realm="api"'

"""The API's throttles: DRF's anonymous and per-user rates, counting anonymous clients by
``leaderboard.client_address`` (``X-Forwarded-For`` only from a trusted proxy)."""

from __future__ import annotations

from rest_framework import throttling

from leaderboard.client_address import client_address


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request) -> str:
        return client_address(request.META)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request) -> str:
        return client_address(request.META)

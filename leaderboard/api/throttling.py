"""API throttles that cost one cache operation per request, whatever the rate.

DRF's throttles keep the time of every request in the window as a list in the cache, read
and written whole on each request: at a few hundred requests per second from one address,
tens of thousands of entries per request, enough to make the throttle the slowest part of a
cached read. These count requests per fixed window instead (one atomic increment in the
shared cache), with DRF's rates, scopes and ``Retry-After``. A client may send up to twice
its rate across the end of a window; the limits are about abuse, not exact accounting.

If the cache does not answer, requests are let through (and the failure logged): the
throttle protects the server, it must not take the API down with the cache. Clients are
counted by ``leaderboard.client_address`` (``X-Forwarded-For`` only from a trusted proxy, so a
client cannot pose as a new address on every request).
"""

from __future__ import annotations

import logging

from rest_framework import throttling

from leaderboard.client_address import client_address

logger = logging.getLogger(__name__)


class FixedWindowRateMixin:
    """``allow_request`` and ``wait`` of ``SimpleRateThrottle`` over a counter per window; a
    window starts with a client's first request and lasts the rate's period."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            return self._count() <= self.num_requests
        except Exception:  # the cache is down: let the request through
            logger.warning("throttle cache unavailable; not throttling", exc_info=True)
            return True

    def _count(self) -> int:
        """This request's number in the client's current window."""
        counter = getattr(self.cache, "incr_within", None)  # elue.cache.RedisCache
        if counter is not None:
            count = counter(self.key, self.duration)
            if count == 1:
                self.cache.set(f"{self.key}:start", self.now, self.duration)
            return count
        try:
            count = self.cache.incr(self.key)
        except ValueError:  # no window open: this request starts one
            if not self.cache.add(self.key, 1, self.duration):
                return self.cache.incr(self.key)  # another request started it meanwhile
            self.cache.set(f"{self.key}:start", self.now, self.duration)
            return 1
        if count == 1:
            # The counter expired in the instant between the check and the increment, and
            # the increment made a new one without an expiry: give it one.
            self.cache.touch(self.key, self.duration)
        return count

    def wait(self) -> float:
        """Seconds until the client's window ends."""
        try:
            started = self.cache.get(f"{self.key}:start", self.now)
        except Exception:
            started = self.now
        return max(started + self.duration - self.now, 1.0)


class AnonRateThrottle(FixedWindowRateMixin, throttling.AnonRateThrottle):
    """Anonymous clients, per address: ``ELUE_API_ANON_RATE``."""

    def get_ident(self, request) -> str:
        return client_address(request.META)


class UserRateThrottle(FixedWindowRateMixin, throttling.UserRateThrottle):
    """Authenticated users, per user: ``ELUE_API_USER_RATE``. Anonymous clients are left to
    ``AnonRateThrottle`` (DRF's counts them here too, by address: a second counter with the
    larger rate, which never decides anything)."""

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)

    def get_ident(self, request) -> str:
        return client_address(request.META)

"""Django's Redis cache (``ELUE_CACHE_URL``), keeping one client object per connection pool.

Django's own client builds a new ``redis.Redis`` for every cache operation, and building one
copies its table of some 170 response callbacks: about a quarter of a millisecond, a quarter
of a cached API request (``docs/benchmarks.md``). ``get_client`` is the documented place to
change that; the pool, and so the connections, are Django's as before. Also a counter that
expires, in one round trip (``incr_within``).
"""

from __future__ import annotations

import threading

from django.core.cache.backends import redis as django_redis


class ReusingRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            with self._lock:
                client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def incr_within(self, key: str, timeout: int) -> int:
        """Add one to the counter ``key``, made at 1 (expiring ``timeout`` seconds later)
        when missing: INCR and EXPIRE NX in one atomic round trip, where Django's ``add``
        and ``incr`` take two or three (the API throttles, ``leaderboard/api/throttling.py``)."""
        key = self.make_and_validate_key(key)
        with self._cache.get_client(key, write=True).pipeline() as pipe:
            count, _ = pipe.incr(key).expire(key, timeout, nx=True).execute()
        return count

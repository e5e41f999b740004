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

# A counter and its expiry in one atomic step; EXPIRE NX (Redis 7) gives an expiry to a
# counter that has none, whoever made it, and never extends a running window.
INCR_WITHIN = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return count
"""


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
        self._scripts: dict[int, object] = {}

    def incr_within(self, key: str, timeout: int) -> int:
        """Add one to the counter ``key``, made at 1 (expiring ``timeout`` seconds later)
        when missing: INCR and EXPIRE NX in one atomic script, one command, where Django's
        ``add`` and ``incr`` take two or three round trips and a MULTI/EXEC pipeline four
        commands (the API throttles, ``leaderboard/api/throttling.py``)."""
        key = self.make_and_validate_key(key)
        client = self._cache.get_client(key, write=True)
        script = self._scripts.get(id(client))
        if script is None:  # EVALSHA, loading the script again if the server lost it
            script = self._scripts.setdefault(id(client), client.register_script(INCR_WITHIN))
        return int(script(keys=[key], args=[timeout]))

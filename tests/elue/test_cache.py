"""The Redis cache backend (``ELUE_CACHE_URL``) against a real Redis: Django's operations, with
one client object per connection pool."""

from __future__ import annotations

from elue.cache import RedisCache


def test_it_caches_in_redis_with_one_client_per_pool(redis_server):
    redis_server.start()
    cache = RedisCache(redis_server.url.rsplit("/", 1)[0] + "/3", {})
    cache.clear()
    assert cache.add("counter", 1, 60) and not cache.add("counter", 5, 60)
    assert cache.incr("counter") == 2
    cache.set("page", (b"<html>", "text/html"), 60)
    assert cache.get("page") == (b"<html>", "text/html")
    assert cache.touch("page", 1) and cache.get("missing") is None
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client and client.ping()
    cache.clear()

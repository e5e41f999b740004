"""The Redis cache backend (``ELUE_CACHE_URL``) against a real Redis: Django's operations, with
one client object per connection pool."""

from __future__ import annotations

from django.core.cache import cache as default_cache

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


def test_a_counter_expires_and_counts_in_one_round_trip(redis_server):
    redis_server.start()
    cache = RedisCache(redis_server.url.rsplit("/", 1)[0] + "/3", {})
    cache.clear()
    assert [cache.incr_within("hits", 60) for _ in range(3)] == [1, 2, 3]
    assert cache.get("hits") == 3
    client = cache._cache.get_client(write=True)
    ttl = client.ttl(cache.make_and_validate_key("hits"))
    assert 0 < ttl <= 60
    cache.incr_within("hits", 5)  # an expiry, once set, stays: the window does not slide
    assert client.ttl(cache.make_and_validate_key("hits")) > 5
    cache.clear()


def test_the_api_throttles_through_redis(redis_server, settings, client, db, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    redis_server.start()
    settings.CACHES = {"default": {"BACKEND": "elue.cache.RedisCache",
                                   "LOCATION": redis_server.url.rsplit("/", 1)[0] + "/4"}}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/minute",
                                                               "user": "10/minute"})
    default_cache.clear()
    codes = [client.get("/api/v1/tasks/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert 0 < int(client.get("/api/v1/tasks/")["Retry-After"]) <= 60
    default_cache.clear()

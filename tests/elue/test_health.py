"""/healthz reports the database and the broker, and says which one failed."""

from __future__ import annotations

import pytest

from tests.pipeline.harness import free_port, route_producer

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    restores = []
    yield lambda url: restores.append(route_producer(url))
    for restore in reversed(restores):
        restore()


def test_it_is_healthy_with_the_database_and_a_live_redis(client, broker, redis_server):
    broker(redis_server.url)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert {body["checks"][n]["status"] for n in ("database", "broker")} == {"ok"}


def test_it_is_healthy_on_the_embedded_filesystem_broker(client):
    assert client.get("/healthz").json()["checks"]["broker"]["status"] == "ok"


def test_it_answers_503_naming_the_broker_when_redis_is_down(client, broker):
    broker(f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["broker"]["status"] == "error" and "Connection" in checks["broker"]["error"]


def test_it_is_exempt_from_the_https_redirect_and_never_cached(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert client.get("/").status_code == 301

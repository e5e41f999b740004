"""The published OpenAPI schema, Swagger UI without outside hosts, and a schemathesis run
against a live server: no 5xx, and every response matches the schema."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leaderboard.tokens import create_token

# Per operation and generation mode (19 operations: under a minute); raise it for a deeper
# run, e.g. ELUE_SCHEMATHESIS_EXAMPLES=200.
EXAMPLES = int(os.environ.get("ELUE_SCHEMATHESIS_EXAMPLES", "15"))


def test_it_publishes_an_openapi_3_schema(anon):
    response = anon.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/tasks/", "/api/v1/leaderboard/", "/api/v1/entries/{id}/",
            "/api/v1/submissions/", "/api/v1/submissions/{id}/cancel/",
            "/api/v1/reference/current/"} <= set(schema["paths"])
    errors = schema["paths"]["/api/v1/submissions/"]["post"]["responses"]["429"]
    assert errors["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_it_serves_swagger_ui_from_this_host_only(anon):
    response = anon.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "/static/drf_spectacular_sidecar/" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "an asset from another host"
    assets = re.findall(r"/static/(drf_spectacular_sidecar/[^\"']+)", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert all(finders.find(asset) for asset in assets), assets


@pytest.fixture
def api_schema(live_server, seeded, settings, tmp_path, data_root, enqueued):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/")
    schema.config.generation.update(max_examples=EXAMPLES)
    return schema


@pytest.fixture
def alice_token(alice) -> str:
    return create_token(alice, "schemathesis").plaintext


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
def test_it_matches_its_schema_and_never_fails(case, alice_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {alice_token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance,
                status_code_conformance])

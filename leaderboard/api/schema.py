"""The OpenAPI schema: every operation also documents the error shape of ``errors.py``."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable; programs may act on it.")
    message = serializers.CharField()
    file = serializers.CharField(allow_null=True, help_text="The file at fault, if any.")
    line = serializers.IntegerField(allow_null=True, help_text="1-based line in that file.")
    field = serializers.CharField(allow_null=True, help_text="e.g. points[0].mflops")


class ErrorSerializer(serializers.Serializer):
    errors = ProblemSerializer(many=True)
    resets_at = serializers.DateTimeField(required=False,
                                          help_text="With 429: when to try again.")


READ_ERRORS = ("400", "401", "403", "404", "429")
WRITE_ERRORS = ("409", "413")


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = READ_ERRORS + (WRITE_ERRORS if self.method not in ("GET", "HEAD") else ())
        for code in codes:
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code,
                                                                   direction=direction))
        return responses


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "leaderboard.api.authentication.TokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An API token from the site's token page: "
                               "`Authorization: Bearer elue_<prefix>_<secret>`."}

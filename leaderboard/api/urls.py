"""``/api/v1/`` (one router), the OpenAPI schema at ``/api/v1/schema/`` and Swagger UI at
``/api/docs/`` (assets from drf-spectacular-sidecar: no outside host)."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from leaderboard.api import views
from leaderboard.api.errors import not_found

router = DefaultRouter()
router.include_format_suffixes = False
router.register("tasks", views.TaskViewSet, basename="task")
router.register("reference", views.ReferenceViewSet, basename="reference")
router.register("leaderboard", views.LeaderboardViewSet, basename="leaderboard")
router.register("entries", views.EntryViewSet, basename="entry")
router.register("submissions", views.SubmissionViewSet, basename="submission")
router.register("hardware", views.HardwareProfileViewSet, basename="hardware")
router.register("measurements", views.MeasurementViewSet, basename="measurement")

app_name = "api"

urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/", include(router.urls)),
    re_path(r"^[\s\S]*$", not_found),  # any character: a newline in a path is still a 404
]

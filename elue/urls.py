from django.contrib import admin
from django.urls import include, path

from elue.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/", include("leaderboard.api.urls")),
    path("accounts/", include("leaderboard.urls_accounts")),
    path("", include("leaderboard.urls")),
]

handler400 = "leaderboard.views.errors.bad_request"

"""``/accounts/``: Django's login, logout, password change and reset, with the site's own
templates (named apart from ``registration/``, where the admin's would win)."""

from django.contrib.auth import views as auth
from django.urls import path

T = "leaderboard/accounts/"

urlpatterns = [
    path("login/", auth.LoginView.as_view(template_name=T + "login.html"), name="login"),
    path("logout/", auth.LogoutView.as_view(template_name=T + "logged_out.html"),
         name="logout"),
    path("password/", auth.PasswordChangeView.as_view(
        template_name=T + "password_change.html"), name="password_change"),
    path("password/done/", auth.PasswordChangeDoneView.as_view(
        template_name=T + "password_change_done.html"), name="password_change_done"),
    path("password/reset/", auth.PasswordResetView.as_view(
        template_name=T + "password_reset.html",
        email_template_name=T + "password_reset_email.txt",
        subject_template_name=T + "password_reset_subject.txt"), name="password_reset"),
    path("password/reset/sent/", auth.PasswordResetDoneView.as_view(
        template_name=T + "password_reset_sent.html"), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", auth.PasswordResetConfirmView.as_view(
        template_name=T + "password_reset_confirm.html"), name="password_reset_confirm"),
    path("password/reset/complete/", auth.PasswordResetCompleteView.as_view(
        template_name=T + "password_reset_complete.html"), name="password_reset_complete"),
]

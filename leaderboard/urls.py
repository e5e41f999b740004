from django.urls import path

from leaderboard.views import about, accounts, board, entries, mine, submit, tasks

app_name = "leaderboard"

urlpatterns = [
    path("", board.index, name="index"),
    path("about/", about.about, name="about"),
    path("tasks/<slug:slug>/", tasks.task_detail, name="task"),
    path("tasks/<slug:slug>/test-inputs.tsv", tasks.task_inputs, name="task_inputs"),
    path("vendor/plotly-<str:version>.min.js", tasks.plotly_js, name="plotly_js"),
    path("entries/<int:pk>/", entries.entry_detail, name="entry"),
    path("entries/<int:pk>/visibility/", entries.entry_visibility, name="entry_visibility"),
    path("entries/<int:pk>/delete/", entries.entry_delete, name="entry_delete"),
    path("submit/", submit.submit, name="submit"),
    path("submit/check/", submit.submit_check, name="submit_check"),
    path("submit/published/", submit.submit_published, name="submit_published"),
    path("me/submissions/", mine.my_submissions, name="my_submissions"),
    path("me/submissions/status.json", mine.submissions_status, name="submissions_status"),
    path("me/submissions/<int:pk>/<slug:action>/", mine.submission_action,
         name="submission_action"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/confirm/", accounts.confirm_email_send, name="confirm_email_send"),
    path("accounts/confirm/<str:token>/", accounts.confirm_email, name="confirm_email"),
    path("accounts/tokens/", accounts.tokens, name="tokens"),
    path("accounts/tokens/<int:pk>/revoke/", accounts.token_revoke, name="token_revoke"),
]

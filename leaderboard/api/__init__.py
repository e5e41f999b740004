"""The REST API at ``/api/v1/`` (docs/api.md): Django REST framework over the same service
functions as the site (``leaderboard.submissions``, ``actions``, ``published``, ``standing``,
``ranking``)."""

"""The site's pages, one module per area: board, tasks, entries, submit, mine, accounts,
about. Small function views; the logic lives in the service modules of ``leaderboard``."""

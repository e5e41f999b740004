"""``elue``: the ELUE command-line client (check, submit, status, leaderboard).

Needs only ``requests`` to talk to a server; ``elue check`` also needs the evaluator's
dependencies (``pip install 'elue-platform[check]'``). See docs/api.md.
"""

__version__ = "0.1.0"

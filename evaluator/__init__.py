"""Pure ELUE evaluation code, in the order a submission meets it:

- ``bundle``: reading a submission bundle (archive, names, predictions, declared costs,
  model files);
- ``cost``: counting FLOPs and parameters (architectures, fvcore rules, per-example cost,
  token lengths, reference FLOPs);
- ``running``: running submitted models (sandbox, custom code, batching, model points);
- at the top: the task registry (``benchmark``), errors, test data (``data``, ``tsv``),
  ``metrics``, the ELUE score (``score``), Pareto fronts (``pareto``), ``evaluate`` (one
  ``evaluate_bundle`` for the checker and the workers) and the offline ``checker``.

Nothing here imports Django, Celery or the ``leaderboard`` app (an import-linter contract in
``.importlinter`` checks it, and that each stage imports only the stages before it). Heavy
libraries (torch, transformers, fvcore) are imported inside the functions that need them so
that the web process never loads them.
"""

"""Stage 3, running models: the sandbox (``sandbox``) and what runs inside it
(``sandboxed``), one sandboxed job for a model (``model_sandbox``), capturing and counting
submitted code (``custom_code``), running a model (``model_runs``), the re-run check of kind
3 (``agreement``), length-sorted batching
(``batching``) and the points of a model the platform runs (``model_points``)."""

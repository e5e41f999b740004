"""The sandbox side: what runs inside the sandbox (``python -m evaluator.running.sandboxed JOB``).

Started by ``evaluator.running.custom_code`` through
``evaluator.running.sandbox.run_sandboxed``. It reads
a JSON job from the scratch directory, installs ``guard`` (which refuses network access,
processes and writes outside scratch with a clear message), imports the submitter's
``model.py`` and either counts its FLOPs (``count``) or runs it on the test inputs
(``run``). Results are written to the scratch directory as JSON or NumPy arrays (never
pickle); failures as ``error.json`` ``{"code", "message"}``.
"""

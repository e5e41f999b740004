"""The sandbox side: what runs inside the sandbox (``python -m evaluator.running.sandboxed JOB``).

Started by ``evaluator.running.model_sandbox`` through
``evaluator.running.sandbox.run_sandboxed``. It reads a JSON job from the scratch directory,
installs ``guard`` (which refuses network access, processes and writes outside scratch with
a clear message) and runs the job (``jobs``): capturing a ``model.py``'s graphs
(``capture``, the only place submitted code is imported), counting or running captured
graphs (``graph_jobs``, in a sandbox without the submitted code), or running a standard
architecture. Results are written to the scratch directory as JSON, safetensors or NumPy
arrays (never pickle); failures as ``error.json`` ``{"code", "message"}`` (``protocol``).
"""

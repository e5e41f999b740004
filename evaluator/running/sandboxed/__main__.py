"""``python -m evaluator.running.sandboxed JOB.json``: count, run or serve a submitted model,
in the sandbox.

Exit status 0 with the result file written, or 3 with ``error.json`` explaining the failure
(any other status: the process was killed, see ``evaluator.running.sandbox.explain``).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from evaluator.running.sandboxed import guard
from evaluator.running.sandboxed.jobs import JobFailed, run_job
from evaluator.running.sandboxed.serve import serve

FAILED = 3


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    guard.install()
    try:
        (serve if job["action"] == "serve" else run_job)(job)
    except JobFailed as failure:
        guard.report(failure.code, str(failure))
        return FAILED
    except MemoryError:
        guard.report("memory", "exceeded the memory limit")
        return FAILED
    except Exception as error:  # submitter code may raise anything: name it, with the line
        guard.report("model_error", describe(error))
        return FAILED
    return 0


def describe(error: BaseException) -> str:
    """``"model.py line 12: ValueError: ..."``: the deepest frame in the submitter's code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.endswith("model.py") and "/evaluator/" not in f.filename]
    where = f"model.py line {frames[-1].lineno}: " if frames else ""
    return f"{where}{type(error).__name__}: {error}"[:1000]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``python -m evaluator check BUNDLE --data DIR [--json]``: see ``evaluator.checker``."""

import sys

from evaluator.checker import main

sys.exit(main())

"""``python -m elue_cli``: the same as the ``elue`` console script."""

import sys

from elue_cli.main import main

sys.exit(main())

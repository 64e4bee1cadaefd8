"""``python -m synthesis``: the same command line as ``synthesis``."""

import sys

from synthesis.cli import main

sys.exit(main())

"""Run the property-based record test (tests/test_guard_fuzz.py) with many examples.

The test suite runs it with the ``ci`` profile (15 examples, well under a minute); this
runs the ``long`` profile (2000 random examples, not derandomised; tens of minutes on two
cores). Usage: ``python benchmarks/fuzz_records.py [extra pytest arguments]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    env = {**os.environ, "HYPOTHESIS_PROFILE": "long"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "tests/test_guard_fuzz.py", *sys.argv[1:]]  # fmt: skip
    sys.exit(subprocess.call(command, cwd=ROOT, env=env))

"""A longer crash test: kill a real `assets materialize` with SIGKILL at many random moments.

The suite kills it 20 times (tests/assets_core/running/test_recovery.py, four batches of five); this runs the same test with
more rounds per batch. After every kill it checks that the catalog is sound, every recorded value is on disk,
the dead run is marked interrupted with its leases freed, no temporary file is left, and the next run
completes with correct data.

    python benchmarks/crash_soak.py [ROUNDS_PER_BATCH]   # default 25: 100 kills
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    rounds = sys.argv[1] if len(sys.argv) > 1 else "25"
    env = {**os.environ, "ASSETS_CRASH_ROUNDS": rounds}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
               "tests/assets_core/running/test_recovery.py", "-k", "kill_minus_nine"]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())

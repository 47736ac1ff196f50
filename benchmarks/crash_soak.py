"""A longer crash test: kill a real `assets materialize` with SIGKILL at many random moments.

The suite kills it 20 times (tests/assets_core/running/test_recovery.py, four batches of five); this runs the
same test with more rounds per batch. After every kill it checks that the catalog is sound, every recorded
value is on disk, the dead run is marked interrupted with its leases freed, no temporary file is left, and the
next run completes with correct data. The result goes into the soaks' section of RESULTS.md.

    python benchmarks/crash_soak.py [ROUNDS_PER_BATCH]   # default 25: 100 kills
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soaks import soak  # noqa: E402

if __name__ == "__main__":
    sys.exit(soak("crash_soak.py", "`kill -9` of `assets materialize` at random moments, then recovery",
                  "tests/assets_core/running/test_recovery.py", "kill_minus_nine", "ASSETS_CRASH_ROUNDS",
                  int(sys.argv[1]) if len(sys.argv) > 1 else 25, batches=4))

"""A longer Ctrl-C test: send SIGINT to a real `assets materialize` at many random moments.

The suite interrupts it 8 times (tests/assets_core/running/test_interrupt.py, two batches of four); this runs
the same test with more rounds per batch. After every SIGINT it checks that the catalog is sound, every
recorded value is on disk, no run is left running (the interrupted process ends its own run), and the next run
completes with correct data and every asset fresh. The result goes into the soaks' section of RESULTS.md.

    python benchmarks/interrupt_soak.py [ROUNDS_PER_BATCH]   # default 25: 50 interrupts
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soaks import soak  # noqa: E402

if __name__ == "__main__":
    sys.exit(soak("interrupt_soak.py", "Ctrl-C (SIGINT) of `assets materialize` at random moments, then a run",
                  "tests/assets_core/running/test_interrupt.py", "random_moments", "ASSETS_INTERRUPT_ROUNDS",
                  int(sys.argv[1]) if len(sys.argv) > 1 else 25, batches=2))

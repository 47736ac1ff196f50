"""A longer Ctrl-C test: send SIGINT to a real `assets materialize` at many random moments.

The suite interrupts it 8 times (tests/assets_core/running/test_interrupt.py, two batches of four); this runs
the same test with more rounds per batch. After every SIGINT it checks that the catalog is sound, every
recorded value is on disk, no run is left running (the interrupted process ends its own run), and the next
run completes with correct data and every asset fresh.

    python benchmarks/interrupt_soak.py [ROUNDS_PER_BATCH]   # default 25: 50 interrupts
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    rounds = sys.argv[1] if len(sys.argv) > 1 else "25"
    env = {**os.environ, "ASSETS_INTERRUPT_ROUNDS": rounds}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
               "tests/assets_core/running/test_interrupt.py", "-k", "random_moments"]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())

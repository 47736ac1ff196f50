"""A longer prune soak: prune (keep 1) looping against forced runs, for a minute by default.

The suite runs the same test for a few seconds (tests/assets_core/application/test_prune.py): two loops of
forced `assets materialize` (one of everything, one of an asset that reads an unselected upstream), and a
prune loop in between, against values that change at every run or flip between two contents (so a run often
stores again a version a prune is deleting). Every run must succeed and no recorded value may be lost.

    python benchmarks/prune_soak.py [SECONDS]   # default 60
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    seconds = sys.argv[1] if len(sys.argv) > 1 else "60"
    env = {**os.environ, "ASSETS_PRUNE_SOAK_SECONDS": seconds}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "tests/assets_core/application/test_prune.py", "-k", "soak"]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())

"""A longer prune soak: prune (keep 1) looping against forced runs, for a minute by default.

The suite runs the same test for four seconds (tests/assets_core/application/test_prune.py): two loops of
forced `assets materialize` (one of everything, one of an asset that reads an unselected upstream) and a prune
loop in between, against values that change at every run or flip between two contents (so a run often stores
again a version a prune is deleting). Every run must succeed and no recorded value may be lost. The result goes
into the soaks' section of RESULTS.md (a round is a second).

    python benchmarks/prune_soak.py [SECONDS]   # default 60
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soaks import soak  # noqa: E402

if __name__ == "__main__":
    sys.exit(soak("prune_soak.py", "`prune --keep 1` looping against forced runs (a round is a second)",
                  "tests/assets_core/application/test_prune.py", "soak", "ASSETS_PRUNE_SOAK_SECONDS",
                  int(sys.argv[1]) if len(sys.argv) > 1 else 60, batches=1))

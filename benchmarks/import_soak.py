"""A longer stress test of late imports: many fresh `assets materialize` processes on a mixed project.

The suite runs 12 fresh processes (tests/test_imports.py, two batches of six) on a project that mixes table,
JSON and SQL assets, each into an empty home with the default worker count; a worker thread that saw a
half-imported module would fail an asset. This runs the same test with more rounds per batch and records the
result in the soaks' section of RESULTS.md.

    python benchmarks/import_soak.py [ROUNDS_PER_BATCH]   # default 100: 200 fresh runs
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soaks import soak  # noqa: E402

if __name__ == "__main__":
    sys.exit(soak("import_soak.py", "fresh `assets materialize` processes on a project mixing table, JSON and SQL "
                  "assets", "tests/test_imports.py", "fresh_runs", "ASSETS_RACE_ROUNDS",
                  int(sys.argv[1]) if len(sys.argv) > 1 else 100, batches=2))

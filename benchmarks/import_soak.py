"""A longer stress test of late imports: many fresh `assets materialize` processes on a mixed project.

The suite runs 12 fresh processes (tests/test_imports.py, two batches of six) on a project that mixes table,
JSON and SQL assets, each into an empty home with the default worker count; a worker thread that saw a
half-imported module would fail an asset. This runs the same test with more rounds per batch and records the
result in the soaks' section of RESULTS.md.

    python benchmarks/import_soak.py [ROUNDS_PER_BATCH]   # default 100: 200 fresh runs
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soaks import record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BATCHES = 2


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    env = {**os.environ, "ASSETS_RACE_ROUNDS": str(rounds)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
               "tests/test_imports.py", "-k", "fresh_runs"]
    started = time.perf_counter()
    code = subprocess.call(command, cwd=ROOT, env=env)
    print(record("import_soak.py", rounds * BATCHES, code != 0, time.perf_counter() - started,
                 "fresh `assets materialize` processes on a project mixing table, JSON and SQL assets"))
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Run the pipeline from a script or a notebook: the same runs, storage and catalog as the `assets` command.

    python run_from_python.py [HOME]     # then: assets runs   (this run shows with the trigger "python")
"""

from __future__ import annotations

import sys
from pathlib import Path

from assets_core import Asset, load, materialize, status
from pipeline import clean, enrich, extract, report, sources, warehouse

HERE = Path(__file__).resolve().parent
STAGES = (sources, extract, clean, enrich, warehouse, report)


def main(home: str | None = None) -> int:
    assets = [value for stage in STAGES for value in vars(stage).values() if isinstance(value, Asset)]
    result = materialize(assets, "+daily_report", project=HERE, home=home)
    if result.run_id is None:
        print("nothing to do: every asset is fresh")
    else:
        print(f"run {result.run_id}: {result.status}; materialized {len(result.materialized)}, "
              f"skipped {len(result.skipped)}, failed {len(result.failed)}")
    stale = [s.asset for s in status(assets, project=HERE, home=home) if s.status != "fresh"]
    print("not fresh:", ", ".join(stale) or "none")
    report_value = load("daily_report", project=HERE, home=home)  # the stored JSON, as a dict
    print(f"customers in the report of {report_value['as_of']}: {report_value['customers']}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))

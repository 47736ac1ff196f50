"""When the pipeline runs by itself, under `assets daemon`: every night at 02:00 Paris time, and soon after a
file in data/ changes. Either way only what is stale runs."""

from assets_core import file_sensor, schedule

nightly = schedule("nightly", "0 2 * * *", "*", timezone="Europe/Paris")
new_data = file_sensor("new_data", "data/*.csv", "*", interval_seconds=10)

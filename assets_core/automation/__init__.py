"""Automation: schedules, sensors and conditions that start runs by themselves, as a pure model.

``declarations`` holds what a project declares, ``cron`` the ticks of a schedule, ``sensors`` one evaluation of
a sensor, ``files`` one evaluation of a file sensor, ``conditions`` the data-aware conditions of
``@asset(options=AssetOptions(automation=...))`` and ``validation`` their checks against the asset graph. The
daemon that acts on them, and the catalog that remembers ticks and cursors, live above.
"""

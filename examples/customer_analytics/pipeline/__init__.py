"""The daily customer analytics pipeline: extract, clean, enrich, load into the warehouse, report.

Each submodule holds one stage; the `assets` command finds every asset in them.
"""

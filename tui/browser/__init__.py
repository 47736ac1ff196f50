"""``assets tui``: the terminal catalog browser (Textual).

The view logic (tree grouping, statuses, filters, sparklines, schema changes, plans, logs) lives in plain
modules (:mod:`model`, :mod:`details`, :mod:`columns`, :mod:`logs`) that know nothing of Textual; the widgets
only draw what those modules compute. Nothing heavy is imported here: ``tui.browser.app`` loads Textual.
"""

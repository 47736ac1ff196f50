"""``python -m tui.cli``: the ``assets`` command."""

from tui.cli.start import entry

entry()

"""``python -m tui.cli``: the ``assets`` command."""

from tui.cli.main import entry

entry()

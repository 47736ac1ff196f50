"""The ``assets`` command: argument parsing, the subcommands, and their text and JSON output."""

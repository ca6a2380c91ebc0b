"""The one error every part of the runner raises for a bad command line, a missing input or an
unreachable broker: one line on stderr and exit code 2, before anything is submitted."""

from __future__ import annotations


class OptionError(SystemExit):
    """Raised instead of argparse's usage dump: one line, exit code 2."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message


def option_error(job: str, message: str) -> OptionError:
    """A check across several options, failed: the same one line as argparse's own errors."""
    return OptionError(f"python -m jobs.{job}: error: {message}")

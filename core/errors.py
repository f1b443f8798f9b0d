"""The one error type for a user's mistake: the entry points print its message as one line and exit 2."""


class UsageError(Exception):
    """A flag, file, row or key the user gave is wrong: the message names it and what would be valid."""

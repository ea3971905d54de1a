"""The one exception type users see as a single line (the CLI turns it into exit code 2)."""


class GankitError(Exception):
    """Bad input or an unusable environment: the message says what is wrong and how to fix it."""

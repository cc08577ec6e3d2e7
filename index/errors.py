"""The one exception type for problems a user can fix.

Its message is a single line that says what is wrong and what to do; the CLI prints it without
a traceback and exits non-zero.
"""


class NewsdeskError(Exception):
    """A user-fixable problem (bad input, unreachable server, full disk), stated in one line."""

"""The one exception type for problems a user can fix.

Its message is a single line that says what is wrong and what to do; the CLI prints it without
a traceback and exits non-zero.
"""


class NewsdeskError(Exception):
    """A user-fixable problem (bad input, unreachable server, full disk), stated in one line."""


def clip(value: object, limit: int = 60) -> str:
    """One line, bounded length: user data or a library's exception quoted in a message must
    not break its one line (an exception with no text is named by its type)."""
    text = " ".join(str(value).split())
    if not text and isinstance(value, BaseException):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Error types shared by every ratchet module."""


class UsageError(Exception):
    """Bad input from the user or the model.

    The message is one line saying what is wrong and how to fix it. The CLI
    prints it to stderr and exits with code 2; nothing has been written.
    """


def brief(items: list[str], limit: int = 3) -> str:
    """'a, b, c and 4 more': a list short enough for a one-line message."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")

"""Error types shared by every ratchet module."""


class UsageError(Exception):
    """Bad input from the user or the model.

    The message is one line saying what is wrong and how to fix it. The CLI
    prints it to stderr and exits with code 2; nothing has been written.
    """

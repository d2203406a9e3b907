"""The commands ratchet.py dispatches to: each takes the working directory
(and its arguments), returns one JSON-able dict (or text for people), and
raises UsageError before anything is written when the input is bad."""

from commands.decide import decide
from commands.init import init
from commands.status import status, status_text
from commands.stop import stop
from commands.trial import run_trial, score

__all__ = ["init", "status", "status_text", "run_trial", "score", "decide", "stop"]

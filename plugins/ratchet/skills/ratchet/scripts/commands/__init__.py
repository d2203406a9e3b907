"""The commands ratchet.py dispatches to, one module each (init, status,
trial: run-trial and score, decide, stop, report, finalize, hooks). Each
takes the working directory (and its arguments), returns one JSON-able dict
(or text for people), and raises UsageError before anything is written when
the input is bad. Nothing is imported here, so a command loads only what it
uses."""

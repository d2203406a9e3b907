#!/usr/bin/env python3
"""ratchet: keep a code change only when a measured metric really improved.

The entry point; `commands/cli.py` parses, dispatches and prints. It stays a
few lines because Python compiles the script it runs on every call, but
caches the modules it imports. Run `ratchet.py COMMAND --help`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # works under python3 -I

from commands.cli import exit_now, main  # noqa: E402

if __name__ == "__main__":
    exit_now(main())

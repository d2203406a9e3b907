#!/usr/bin/env bash
# Run every ratchet test: unit and integration tests (stdlib unittest), plus
# the real Claude Code CLI checks when a `claude` binary is available.
# Usage: ./test.sh            (PYTHON=/path/to/python3.10 ./test.sh for another interpreter)
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
PYTHON=${PYTHON:-python3}
if [ -x "$here/.cache/claude-code/node_modules/.bin/claude" ]; then
  export PATH="$here/.cache/claude-code/node_modules/.bin:$PATH"
fi
if command -v claude >/dev/null 2>&1; then
  echo "real-client tests: using $(claude --version 2>/dev/null | head -1)"
else
  echo "real-client tests: SKIPPED (no claude CLI on PATH; see docs/testing.md)"
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  echo "report browser test: using $( (chromium --version || chromium-browser --version) 2>/dev/null | head -1)"
else
  echo "report browser test: SKIPPED (no chromium on PATH; apt-get install chromium)"
fi
"$PYTHON" --version
cd plugins/ratchet/skills/ratchet/scripts
"$PYTHON" -m unittest discover -s tests -t . "$@"

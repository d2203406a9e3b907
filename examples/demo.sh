#!/usr/bin/env bash
# The ratchet loop on a small example, without Claude.
# Builds a throwaway git repository with a slow prime counter and its benchmark,
# then drives the real ratchet.py with a scripted stand-in for the model that
# makes four changes: a real speed-up, a regression, a crash, and an attempt to
# edit the protected benchmark. Prints each decision and the final table; then
# runs the same four changes headless, through `ratchet.py loop` with the
# stand-in as the agent command (Python drives every iteration); then writes the
# first run's morning report (ratchet.py report) and prints the page's path.
# Usage: ./examples/demo.sh [WORKDIR]   (default: a new temporary directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ratchet="$here/../plugins/ratchet/skills/ratchet/scripts/ratchet.py"
PYTHON=${PYTHON:-python3}
work=${1:-$(mktemp -d)}
repo="$work/primes-demo"
# A fresh repository holding the slow prime counter and its benchmark, in $1.
make_repo() {
  rm -rf "$1" && mkdir -p "$1"
  cp "$here/primes/primes.py" "$here/primes/bench.py" "$1/"
  printf '__pycache__/\n' > "$1/.gitignore"
  (cd "$1" && git init -q -b main && git add -A &&
   git -c user.name=demo -c user.email=demo@example.com commit -qm "slow prime counter")
}
make_repo "$repo"
cd "$repo"

field() { "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# Run a ratchet.py command and show its JSON answer as one readable line.
step() { printf '$ ratchet.py %s\n' "$*"; "$PYTHON" "$ratchet" "$@" | "$PYTHON" "$here/primes/show.py"; }

echo "demo repository: $repo"
step init --run-command "$PYTHON bench.py" --direction min --metric-name wall_time \
  --report-source stdout --patience 3 --protect bench.py \
  --instructions "Do not change the answer. Performance only."
step run-trial --all
step decide --description baseline
k=1
while true; do
  stopped=$("$PYTHON" "$ratchet" status | field '["stop"]["stopped"]')
  [ "$stopped" = "True" ] && break
  edit=$("$PYTHON" "$here/primes/stand_in_model.py" "$repo" "$k")
  hypothesis=$(echo "$edit" | field '["hypothesis"]')
  description=$(echo "$edit" | field '["description"]')
  printf '\n# stand-in model, edit %s: %s\n' "$k" "$description"
  step run-trial --all --hypothesis "$hypothesis"
  step decide --description "$description"
  k=$((k + 1))
done
printf '\n'
"$PYTHON" "$ratchet" status --format text
printf '\ngit log on the run branch:\n'
git log --oneline

loop_repo="$work/primes-loop"
make_repo "$loop_repo"
printf '\n# the same four changes, headless: ratchet.py loop runs the stand-in as its agent\n'
printf '$ ratchet.py loop --agent-command "python3 stand_in_model.py" --run-command ... (same flags)\n'
(cd "$loop_repo" && "$PYTHON" "$ratchet" loop --agent-command "$(printf '%q %q' "$PYTHON" "$here/primes/stand_in_model.py")" \
  --run-command "$PYTHON bench.py" --direction min --metric-name wall_time \
  --report-source stdout --patience 3 --protect bench.py \
  --instructions "Do not change the answer. Performance only." 2>&1 >/dev/null)
(cd "$loop_repo" && "$PYTHON" "$ratchet" status --format text | sed -n '3,8p;/^agent:/p;/^stopped:/p')
printf '\nthe morning report (open it in a browser; report.md next to it is the pull request summary):\n'
"$PYTHON" "$ratchet" report | field '["html"]'

#!/usr/bin/env bash
# --editable and --constraint on a small example, without Claude.
# A sorted-list search whose benchmark prints two deterministic numbers:
# comparisons (the metric, lower is better) and peak_items (a side metric).
# The run may edit only src/ and must not hold more than 10% more items:
#   1. a dict index: far fewer comparisons, twice the items  -> constraint_failed
#   2. comment out the benchmark's answer check (outside src/) -> integrity_violation
#   3. binary search: fewer comparisons, same items           -> improve
# Usage: ./examples/scope.sh [WORKDIR]   (default: a new temporary directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ratchet="$here/../plugins/ratchet/skills/ratchet/scripts/ratchet.py"
PYTHON=${PYTHON:-python3}
work=${1:-$(mktemp -d)}
repo="$work/scope-demo"
rm -rf "$repo" && mkdir -p "$repo/src"
cp "$here/scope/search.py" "$repo/src/" && cp "$here/scope/bench.py" "$repo/"
printf '__pycache__/\n' > "$repo/.gitignore"
cd "$repo"
git init -q -b main
git add -A
git -c user.name=demo -c user.email=demo@example.com commit -qm "linear search"

show() { "$PYTHON" -c 'import json,sys
a = json.loads(sys.stdin.read())
print("  ->", a.get("decision") or a.get("integrity_violation") or "ok", "|", a.get("reason", ""))'; }
echo "scope demo repository: $repo"
"$PYTHON" "$ratchet" init --run-command "$PYTHON bench.py" --direction min --metric-name comparisons \
  --report-source stdout --editable src/ --constraint "peak_items<=+10%" --iterations 3 >/dev/null
"$PYTHON" "$ratchet" run-trial --all >/dev/null
"$PYTHON" "$ratchet" decide --description baseline >/dev/null
for k in 1 2 3; do
  edit=$("$PYTHON" "$here/scope/edits.py" "$repo" "$k")
  printf '# change %s: %s\n' "$k" "${edit#*|}"
  "$PYTHON" "$ratchet" run-trial --all --hypothesis "${edit%%|*}" >/dev/null
  "$PYTHON" "$ratchet" decide --description "${edit#*|}" | show
done
printf '\n'
"$PYTHON" "$ratchet" status --format text

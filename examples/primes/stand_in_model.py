"""A scripted stand-in for Claude: applies prepared edit number K.

Usage: stand_in_model.py REPO K  -> prints the hypothesis and description (JSON).
As the agent of `ratchet.py loop --agent-command "python3 stand_in_model.py"`: no
arguments; it edits the current directory with edit $RATCHET_ITERATION and answers in
loop's fixed shape (HYPOTHESIS / DESCRIPTION lines).
Edits 1-3 replace primes.py; edit 4 tampers with the protected bench.py.
"""
import json
import os
import shutil
import sys
from pathlib import Path

EDITS = {
    1: ("1-sqrt-bound.py", "primes.py", "divisors above sqrt(k) never divide first", "trial division up to sqrt(k)"),
    2: ("2-regression.py", "primes.py", "double-checking is cheap", "check every candidate twice"),
    3: ("3-crash.py", "primes.py", "a sieve is O(n log log n)", "sieve of Eratosthenes (buggy)"),
    4: ("4-cheat.py", "bench.py", "a faster benchmark", "edit the benchmark itself"),
}

as_agent = len(sys.argv) == 1
repo, k = (Path.cwd(), int(os.environ["RATCHET_ITERATION"])) if as_agent else (Path(sys.argv[1]), int(sys.argv[2]))
src, dest, hypothesis, description = EDITS[k]
shutil.copy(Path(__file__).parent / "edits" / src, repo / dest)
if as_agent:
    print(f"HYPOTHESIS: {hypothesis}\nDESCRIPTION: {description}")
else:
    print(json.dumps({"hypothesis": hypothesis, "description": description}))

"""Reduce one ratchet.py JSON answer (stdin) to a line a person can read."""
import json
import sys

o = json.load(sys.stdin)
if "decision" in o:
    stop = o["stop"]["reason"] if o["stop"]["stopped"] else "no"
    mean = "-" if o["avg"] is None else f"{o['avg']:.6f}"
    print(f"  -> {o['decision']}, kept={o['kept']}, mean={mean}, best={o['best']['score']:.6f}, stop={stop}")
elif "integrity_violation" in o:
    print("  -> integrity violation: " + "; ".join(o["integrity_violation"]))
elif o.get("test") and o["test"]["effect"] is not None and not o["trials"]:
    t = o["test"]
    print(f"  -> {o['pairs']} interleaved pairs: {t['outcome']}, effect {t['effect']:+.6f} "
          f"[{t['ci_low']:+.6f}, {t['ci_high']:+.6f}], p={t['p_value']:.2g}")
elif isinstance(o.get("trials"), list):
    failed = [f"{t['status']} ({t.get('problem', '')})" for t in o["trials"] if t["status"] != "ok"]
    if o.get("scores"):  # many runs: ratchet summarizes them
        s = o["scores"]
        shown = [f"{s['n']} runs from {s['min']:.6f} to {s['max']:.6f}"]
    else:
        shown = [f"{t['score']:.6f}" for t in o["trials"] if t["status"] == "ok"]
    print("  -> trials: " + ", ".join(shown + failed))
else:
    print(f"  -> run {o.get('run_id')} on branch {o.get('branch')}, warnings: {o.get('warnings')}")

"""Critic mode: the files under .ratchet/proposals/ and the hooks other modules call.

Two proposer subagents each return one change as text plus a unified diff;
Python validates both, shows the valid ones to a critic subagent under
neutral labels (X, Y) in a random order, records the critic's verdict, and
applies the picked diff to the working tree. The chosen change is then
measured and decided like any other: the critic never overrides the numbers.

The logic is in pure modules: diffs.py (the proposers' answers, the paths a
diff names), pathrules.py (what is off limits), blinding.py (labels, order,
the packet), verdicts.py (verdicts, records, runner-up, audit); gitapply.py
checks and applies diffs. This module ties them to files: `save_proposal`,
`build_packet`, `record_verdict`, `apply_runner_up`; hooks for commands.py:
`record_fields(run, cur)` (the "critic" field of a results record) and
`runner_up_hint(run)` (for `next`).

Files, under `.ratchet/proposals/` (`NNNN` is the iteration):
  iter-NNNN-a.json / iter-NNNN-a.diff    proposal of slot a, sealed json (same for b)
  iter-NNNN-a.raw.md                     the proposer's answer as saved
  iter-NNNN-packet.md                    what the critic reads (blinded)
  iter-NNNN-critic.json                  validity, seed, mapping, verdict (sealed)
  iter-NNNN-verdict.raw.md               the critic's answer as saved
  incoming-{a,b,verdict}.md              where the main agent saves answers; consumed
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from shell import gitops
from shell import store as store_mod
from critic.blinding import SLOTS, blind, one_line, render_packet
from critic.diffs import parse_proposal
from core.errors import UsageError
from critic.gitapply import git_apply, tree_with_diff, validate_diff
from critic.verdicts import critic_record, resolve_pick, runner_up, runner_up_offer, validate_verdict

PROPOSALS_DIR = "proposals"
MAX_PROPOSAL_BYTES = 1_000_000

# Functions below take the repository root and a store.Store (+ the run id,
# the seal key) rather than a commands.Run, so commands.py can import this
# module without a cycle. Run-shaped helpers (`record_fields`,
# `runner_up_hint`) accept a shell.context.Run.


def new_seed() -> int:
    """A fresh 64-bit blinding seed from the OS."""
    return int.from_bytes(os.urandom(8), "big")


# ---- files --------------------------------------------------------------------

def name(iteration: int, suffix: str) -> str:
    """Store-relative name, e.g. name(3, "a.json") -> proposals/iter-0003-a.json."""
    return f"{PROPOSALS_DIR}/{store_mod.Store.label(iteration, suffix)}"


def incoming_path(store, what: str) -> Path:
    """Where the main agent writes a subagent's raw answer (a, b or verdict)."""
    return store.path(PROPOSALS_DIR, f"incoming-{what}.md")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _write_text(store, rel: str, text: str) -> Path:
    path = store.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    store_mod.atomic_write(path, text.encode("utf-8", "surrogateescape"))
    return path


def read_input_file(path: Path) -> str:
    """A subagent answer the main agent saved. UsageError when unusable."""
    try:
        size = path.stat().st_size
        if size > MAX_PROPOSAL_BYTES:
            raise UsageError(f"{path} is {size} bytes; an answer must stay under {MAX_PROPOSAL_BYTES}")
        return path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist: write the subagent's answer there first (Write tool)") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not the saved answer") from None


def consume_input_file(store, path: Path, keep_as: str) -> None:
    """Move an answer saved under .ratchet/proposals/ to `keep_as` (audit copy),
    so a stale answer can never be read twice. Files elsewhere are left alone."""
    try:
        path.resolve().relative_to(store.path(PROPOSALS_DIR).resolve())
    except ValueError:
        return
    os.replace(path, store.path(keep_as))


def load_state(store, key: str, iteration: int) -> dict | None:
    return store.read_sealed(name(iteration, "critic.json"), key)


def save_state(store, key: str, iteration: int, st: dict) -> dict:
    store.path(PROPOSALS_DIR).mkdir(parents=True, exist_ok=True)
    return store.write_sealed(name(iteration, "critic.json"), st, key)


def load_proposal(store, key: str, iteration: int, slot: str) -> dict | None:
    return store.read_sealed(name(iteration, f"{slot}.json"), key)


def read_diff(store, prop: dict) -> str:
    """The stored diff of `prop`, checked against the sha256 recorded with it."""
    if not prop.get("diff_path"):
        return ""
    try:
        diff = (store.root / prop["diff_path"]).read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        raise UsageError(f"{prop['diff_path']} is missing; run propose again") from None
    if _sha256(diff) != prop.get("diff_sha256"):
        raise UsageError(f"{prop['diff_path']} was edited after it was proposed; run propose again")
    return diff


def save_proposal(store, key: str, root: Path, iteration: int, slot: str, text: str, globs,
                  editable=()) -> dict:
    """Parse and store one proposer answer (json + diff), validated now."""
    if slot not in SLOTS:
        raise UsageError(f"--slot must be one of {', '.join(SLOTS)}")
    parsed = parse_proposal(text)
    diff_rel = name(iteration, f"{slot}.diff")
    diff_path = None
    if parsed["diff"]:
        diff_path = store.rel(_write_text(store, diff_rel, parsed["diff"]))
    else:
        store.path(diff_rel).unlink(missing_ok=True)
    paths, problems = [], list(parsed["problems"])
    if not problems:
        paths, problems = validate_diff(root, parsed["diff"], globs, editable)
    prop = {
        "iter": iteration, "slot": slot,
        "hypothesis": parsed["hypothesis"], "expected": parsed["expected"],
        "rationale": parsed["rationale"], "no_proposal": parsed["no_proposal"],
        "diff_path": diff_path, "diff_sha256": _sha256(parsed["diff"]) if diff_path else None,
        "paths": paths, "valid": not problems, "problems": problems,
    }
    store.write_sealed(name(iteration, f"{slot}.json"), prop, key)
    return prop


def _summary(prop: dict) -> dict:
    return {k: prop.get(k) for k in ("hypothesis", "expected", "diff_path", "diff_sha256",
                                     "paths", "valid", "problems")}


def build_packet(store, key: str, root: Path, iteration: int, globs, context: dict,
                 seed: int | None = None, editable=()) -> dict:
    """Re-validate both stored proposals, blind the valid ones, write the
    packet and the critic state. Returns the state."""
    props = {}
    for slot in SLOTS:
        prop = load_proposal(store, key, iteration, slot)
        if prop is None:
            raise UsageError(f"no proposal for slot {slot} in iteration {iteration}: "
                             f"run propose --slot {slot} --file ... first")
        if prop["valid"]:   # the tree may have changed since propose: check again
            paths, problems = validate_diff(root, read_diff(store, prop), globs, editable)
            prop = {**prop, "paths": paths, "valid": not problems, "problems": problems}
        props[slot] = prop
    valid = [s for s in SLOTS if props[s]["valid"]]
    blind_info = blind(valid, new_seed() if seed is None else seed)
    st = {"iter": iteration, "mode": "contest", "proposals": {s: _summary(p) for s, p in props.items()},
          "blind": blind_info, "packet": None, "packet_sha256": None, "verdict": None,
          "picked": None, "applied": False, "runner_up": None}
    if blind_info["labels"]:
        entries = {}
        for label, slot in blind_info["labels"].items():
            p = props[slot]
            entries[label] = {"hypothesis": p["hypothesis"], "expected": p["expected"],
                              "rationale": p["rationale"], "diff": read_diff(store, p), "paths": p["paths"]}
        text = render_packet(iteration, entries, context)
        st["packet"] = store.rel(_write_text(store, name(iteration, "packet.md"), text))
        st["packet_sha256"] = _sha256(text)
    else:
        store.path(name(iteration, "packet.md")).unlink(missing_ok=True)
    return save_state(store, key, iteration, st)


def record_verdict(store, key: str, root: Path, iteration: int, verdict_obj) -> dict:
    """Validate the verdict against the packet, apply the picked diff to the
    working tree, record everything. Returns the new state."""
    st = load_state(store, key, iteration)
    if st is None or st.get("mode") != "contest" or not st.get("packet"):
        raise UsageError(f"no judge packet for iteration {iteration}: run judge-packet first")
    if st.get("verdict") is not None:
        raise UsageError(f"a verdict for iteration {iteration} is already recorded; measure it with run-trial")
    verdict = validate_verdict(verdict_obj, list(st["blind"]["labels"]))
    st = {**st, "verdict": verdict}
    slot = resolve_pick(st)
    if slot is not None:
        prop = load_proposal(store, key, iteration, slot)
        if prop is None or prop.get("diff_sha256") != st["proposals"][slot]["diff_sha256"]:
            raise UsageError(f"proposal {slot} changed after the packet was written; run judge-packet again")
        git_apply(root, read_diff(store, prop))
        st.update(picked=slot, applied=True, runner_up=runner_up(st))
    return save_state(store, key, iteration, st)


# ---- hooks for commands.py ------------------------------------------------------

def critic_record_for(root: Path, store, key: str, cur: dict) -> dict | None:
    """The "critic" field of iteration cur["iter"]'s results record, or None
    outside critic mode. Checks whether the measured candidate is exactly
    base + the applied diff (`measured_exact`)."""
    try:
        st = load_state(store, key, cur["iter"])
    except store_mod.TamperedState as exc:
        return {"error": str(exc)}
    if st is None:
        return None
    rec = critic_record(st)
    exact = None
    if st.get("applied") and st.get("picked"):
        prop = st["proposals"].get(st["picked"], {})
        try:
            diff = read_diff(store, prop)
        except UsageError:
            diff = None
        if diff and cur.get("base") and cur.get("candidate"):
            exact = tree_with_diff(root, cur["base"], diff) == gitops.tree_of(root, cur["candidate"])
        rec["measured"] = st["picked"]
    else:
        rec["measured"] = "own"   # neither / nothing valid: the main agent's own change
    rec["measured_exact"] = exact
    return rec


def record_fields(run, cur: dict) -> dict:
    """Extra results.jsonl fields for the iteration being decided: {"critic": ...}
    in critic mode, {} otherwise."""
    rec = critic_record_for(run.root, run.store, run.key, cur)
    return {"critic": rec} if rec is not None else {}


def runner_up_hint(run) -> str | None:
    """For status/decide `next`: a short note when a runner-up is waiting and
    this iteration has not started a contest of its own."""
    if run.current:
        return None
    offer = runner_up_offer(list(run.summary.tail))
    if offer is None:
        return None
    try:
        if load_state(run.store, run.key, run.iteration) is not None:
            return None
    except store_mod.TamperedState:
        return None
    return (f"run ratchet.py runner-up to measure it instead of new proposals: "
            f"{one_line(offer['hypothesis'], 120)}")


def apply_runner_up(store, key: str, root: Path, iteration: int, history: list[dict], globs,
                    editable=()) -> dict:
    """Apply the previous iteration's runner-up to the working tree as this
    iteration's candidate. Returns the state written; state["applied"] is
    False (with "problems") when it no longer qualifies."""
    offer = runner_up_offer(history)
    if offer is None:
        raise UsageError("no runner-up is waiting: the last iteration was not a contest whose pick was reverted")
    existing = load_state(store, key, iteration)
    if existing is not None and existing.get("applied"):
        raise UsageError(f"iteration {iteration} already has a change applied; measure it with run-trial")
    prop = {"hypothesis": offer["hypothesis"], "diff_path": offer["diff_path"],
            "diff_sha256": offer["diff_sha256"]}
    src = load_proposal(store, key, offer["from_iter"], offer["slot"]) or {}
    prop.update({k: src.get(k) for k in ("expected", "paths")})
    try:
        diff = read_diff(store, prop)
        paths, problems = validate_diff(root, diff, globs, editable)
    except UsageError as exc:
        diff, paths, problems = "", [], [str(exc)]
    st = {"iter": iteration, "mode": "runner_up", "source_iter": offer["from_iter"],
          "proposals": {offer["slot"]: {**_summary(prop), "paths": paths, "valid": not problems,
                                        "problems": problems}},
          "blind": {}, "packet": None, "verdict": None, "picked": None, "applied": False,
          "runner_up": None}
    if not problems:
        git_apply(root, diff)
        st.update(picked=offer["slot"], applied=True)
    return save_state(store, key, iteration, st)

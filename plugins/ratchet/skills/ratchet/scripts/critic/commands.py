"""Critic-mode commands: propose, judge-packet, verdict, runner-up, critic-audit.

Each handler is `handler(cwd, ns) -> dict` (one JSON object for ratchet.py
to print); bad input raises UsageError before anything is written.
`add_parsers(subparsers)` registers them, each with `set_defaults(handler=...)`,
so ratchet.py's dispatcher only needs `if getattr(ns, "handler", None): ...`.

The flow for the main agent is in instructions/critic-mode.md. The work is
in proposals.py (files) and the pure modules it uses (blinding.py,
verdicts.py, ...); this module loads the run, checks it is at the right
step, holds the lock and shapes the answers.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from commands.common import locked, require_head_at_best
from core.errors import UsageError, brief
from core.runstate import CMD
from critic import blinding, proposals, verdicts
from shell import context, gitops


# -- helpers ------------------------------------------------------------------

@contextlib.contextmanager
def _open_run(cwd: Path):
    """The run, loaded under the lock with any interrupted decision
    finished, still running, and between iterations (no trial of the next
    one started yet)."""
    with locked(cwd) as run:
        _require_between_iterations(run)
        yield run


def _require_between_iterations(run: context.Run) -> None:
    if not run.summary.count:
        raise UsageError(f"measure the baseline first: {CMD} run-trial --all, then {CMD} decide --description baseline")
    if run.current:
        raise UsageError(f"iteration {run.current.get('iter')} is already being measured; "
                         f"finish it ({CMD} status says how) before critic commands")


def _globs(run: context.Run) -> list[str]:
    """Off-limits globs: --protect, the report file (pathrules.py adds .ratchet/ and .git/)."""
    return [*run.config.protect, *run.excluded]


def _require_clean(run: context.Run) -> None:
    """HEAD at the best commit and no stray edits: diffs are judged and applied
    against exactly the tree the proposers read."""
    require_head_at_best(run)
    dirty = [p for p in gitops.dirty_paths(run.root) if p not in run.excluded]
    if dirty:
        raise UsageError(f"the working tree has edits ({brief(dirty)}); in critic mode ratchet applies the "
                         "picked diff itself: undo your edits first (instructions/reverting.md)")


def _input_path(cwd: Path, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() else Path(cwd, path)


def _context(run: context.Run) -> dict:
    """What the packet tells the critic about the run (no critic fields)."""
    cfg = run.config
    better = "lower" if cfg.direction == "min" else "higher"
    best = run.best
    history = []
    for rec in run.summary.tail:
        avg = rec.get("avg")
        history.append(blinding.redact_identity(
            f"iter {rec.get('iter')}: {rec.get('decision')}"
            + (f", mean {avg:.6g}" if isinstance(avg, (int, float)) else "")
            + f": {blinding.one_line(rec.get('description') or rec.get('hypothesis') or '', 160)}"))
    return {
        "goal": f"{better} `{cfg.metric_name}` is better (run command: `{cfg.run_command}`)",
        "best": (f"{best['score']:.6g} (iteration {best['iter']})"
                 if best and isinstance(best.get("score"), (int, float)) else None),
        "protected": _globs(run),
        "editable": list(cfg.editable),
        "instructions": cfg.instructions,
        "history": history,
    }


def _invalidate_contest(run: context.Run, iteration: int) -> None:
    """A new proposal voids an existing packet (not yet judged) of this iteration."""
    st = proposals.load_state(run.store, run.key, iteration)
    if st is None:
        return
    if st.get("applied") or st.get("verdict") is not None:
        raise UsageError(f"iteration {iteration} already has a verdict; measure it: {CMD} run-trial --all")
    run.store.path(proposals.name(iteration, "critic.json")).unlink(missing_ok=True)
    run.store.path(proposals.name(iteration, "packet.md")).unlink(missing_ok=True)


def _measure_next(hypothesis: str) -> str:
    return (f"{CMD} run-trial --all --hypothesis TEXT (TEXT = this hypothesis: "
            f"{blinding.one_line(hypothesis, 160)}), then {CMD} decide --description TEXT")


OWN_CHANGE = (f"make ONE change yourself as in a normal iteration (mind the reasons above), "
              f"then {CMD} run-trial --all --hypothesis TEXT")


# -- handlers -------------------------------------------------------------------

def propose(cwd: Path, ns) -> dict:
    """Store one proposer's saved answer as slot a or b, validated now."""
    with _open_run(cwd) as run:
        it = run.iteration
        path = (_input_path(cwd, ns.file) if ns.file is not None
                else proposals.incoming_path(run.store, ns.slot))
        text = proposals.read_input_file(path)
        _invalidate_contest(run, it)
        prop = proposals.save_proposal(run.store, run.key, run.root, it, ns.slot, text, _globs(run),
                                       run.config.editable)
        proposals.consume_input_file(run.store, path, proposals.name(it, f"{ns.slot}.raw.md"))
        other = "b" if ns.slot == "a" else "a"
        have_other = proposals.load_proposal(run.store, run.key, it, other) is not None
    return {
        "iter": it, "slot": ns.slot, "valid": prop["valid"], "problems": prop["problems"],
        "hypothesis": prop["hypothesis"], "paths": prop["paths"],
        "next": (f"{CMD} judge-packet" if have_other else
                 f"save the other answer and run {CMD} propose --slot {other}"),
    }


def judge_packet(cwd: Path, ns) -> dict:
    """Validate both proposals, blind the valid ones, write the critic's packet."""
    with _open_run(cwd) as run:
        _require_clean(run)
        it = run.iteration
        _invalidate_contest(run, it)
        st = proposals.build_packet(run.store, run.key, run.root, it, _globs(run), _context(run),
                                    editable=run.config.editable)
    disq = {s: p["problems"] for s, p in st["proposals"].items() if not p["valid"]}
    n = len(st["blind"]["labels"])
    out = {"iter": it, "candidates": n, "labels": sorted(st["blind"]["labels"]),
           "disqualified": disq}
    if n:
        out["packet"] = str(run.root / st["packet"])
        out["next"] = ("spawn ratchet:ratchet-critic with the packet path, save its answer, then "
                       f"{CMD} verdict")
    else:
        out["next"] = "both proposals were disqualified (see disqualified): " + OWN_CHANGE
    return out


def verdict(cwd: Path, ns) -> dict:
    """Record the critic's verdict and apply the picked diff to the tree."""
    if ns.pick is None:
        if ns.confidence is not None or ns.reasons is not None or ns.concern:
            raise UsageError("--confidence, --reasons and --concern go with --pick")
        obj_path = (_input_path(cwd, ns.file) if ns.file is not None
                    else proposals.incoming_path(context.load(cwd).store, "verdict"))
        text = proposals.read_input_file(obj_path)
    else:
        if ns.file is not None:
            raise UsageError("give --file or --pick/--confidence/--reasons, not both")
        if ns.confidence is None or ns.reasons is None:
            raise UsageError("--pick needs --confidence and --reasons too")
        obj_path = text = None
    with _open_run(cwd) as run:
        it = run.iteration
        st = proposals.load_state(run.store, run.key, it)
        if st is None or not st.get("packet") or st.get("verdict") is not None:
            proposals.record_verdict(run.store, run.key, run.root, it, {})   # raises the right error
        try:
            obj = (verdicts.parse_verdict_text(text) if obj_path is not None else
                   {"pick": ns.pick, "confidence": ns.confidence, "reasons": ns.reasons,
                    "integrity_concerns": list(ns.concern or [])})
            v = verdicts.validate_verdict(obj, list(st["blind"]["labels"]))
        except UsageError:
            if obj_path is not None:   # set the bad answer aside: the retry writes a new file
                proposals.consume_input_file(run.store, obj_path, proposals.name(it, "verdict.rejected.md"))
            raise
        if v["pick"] in st["blind"]["labels"]:
            _require_clean(run)   # before touching the tree
        st = proposals.record_verdict(run.store, run.key, run.root, it, obj)
        if obj_path is not None:
            proposals.consume_input_file(run.store, obj_path, proposals.name(it, "verdict.raw.md"))
    v = st["verdict"]
    out = {"iter": it, "pick": v["pick"], "confidence": v["confidence"],
           "integrity_concerns": v["integrity_concerns"], "reasons": v["reasons"],
           "applied": st["applied"]}
    if st["applied"]:
        picked = st["proposals"][st["picked"]]
        out.update(hypothesis=picked["hypothesis"], paths=picked["paths"],
                   next=_measure_next(picked["hypothesis"]))
    else:
        out["next"] = "the critic picked neither: " + OWN_CHANGE
    return out


def runner_up(cwd: Path, ns) -> dict:
    """Apply the previous iteration's runner-up as this iteration's change."""
    with _open_run(cwd) as run:
        _require_clean(run)
        it = run.iteration
        st = proposals.apply_runner_up(run.store, run.key, run.root, it, list(run.summary.tail), _globs(run),
                                        run.config.editable)
    (slot, prop), = st["proposals"].items()
    out = {"iter": it, "from_iter": st["source_iter"], "applied": st["applied"],
           "hypothesis": prop["hypothesis"], "paths": prop["paths"]}
    if st["applied"]:
        out["next"] = _measure_next(prop["hypothesis"])
    else:
        out["problems"] = prop["problems"]
        out["next"] = "the runner-up no longer qualifies: get new proposals (critic-mode.md, step 2)"
    return out


def critic_audit(cwd: Path, ns) -> dict:
    """Position-bias audit over this run's judged contests."""
    run = context.load(cwd)
    return {"run_id": run.key, **verdicts.position_bias(run.history)}


# -- argparse -------------------------------------------------------------------

def _confidence(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--confidence must be a number in [0, 1], got {text!r}") from None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register the critic-mode commands on ratchet.py's subparsers."""
    p = sub.add_parser("propose", help="critic mode: store a proposer's saved answer (slot a or b)")
    p.add_argument("--slot", required=True, choices=blinding.SLOTS)
    p.add_argument("--file", default=None,
                   help="the proposer's answer, saved verbatim (default: .ratchet/proposals/incoming-SLOT.md)")
    p.set_defaults(handler=propose)
    p = sub.add_parser("judge-packet", help="critic mode: validate both proposals, write the blinded packet")
    p.set_defaults(handler=judge_packet)
    p = sub.add_parser("verdict", help="critic mode: record the critic's verdict, apply the picked diff")
    p.add_argument("--file", default=None,
                   help="the critic's answer, saved verbatim (default: .ratchet/proposals/incoming-verdict.md)")
    p.add_argument("--pick", default=None, help="X, Y or neither")
    p.add_argument("--confidence", default=None, type=_confidence)
    p.add_argument("--reasons", default=None)
    p.add_argument("--concern", action="append", default=[], help="an integrity concern (repeatable)")
    p.set_defaults(handler=verdict)
    p = sub.add_parser("runner-up", help="critic mode: apply the last iteration's runner-up instead of new proposals")
    p.set_defaults(handler=runner_up)
    p = sub.add_parser("critic-audit", help="critic mode: how often the first-shown candidate was picked")
    p.set_defaults(handler=critic_audit)

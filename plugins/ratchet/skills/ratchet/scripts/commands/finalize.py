"""`finalize`: a branch for review, built on the run's start commit.

Default: one commit per kept change, each with the change's tree from the
run branch and a clean message with the numbers as trailers
(`views.commits`). `--squash`: one commit with the confirmed total and the
list of changes. `--split`: one independent branch per group of kept
changes touching disjoint files (`core.finalize.group_disjoint`), each from
the start commit; the groups are checked to add up to the best tree.

Safety: plumbing only (commit-tree, a throwaway index, one update-ref
transaction with old values), so the work tree, the user's index, HEAD, the
user's branch and the run branch are never touched. The result's tree is
verified to equal the best commit's before any branch is written. Refused
(exit 2, nothing written) while an iteration is in progress, when the log
was edited, when nothing was kept, and when a target branch exists (unless
`--force`, which moves it; the user's branch, the run branch and the
checked-out branch are refused even then).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from commands.common import store_of
from core import finalize as plan
from core.errors import UsageError
from core.history import STATE_EDITS
from shell import gitops
from shell.context import Run, load
from views import commits
from views.status import total

CMD = "ratchet.py"


def _refuse_while_busy(run: Run) -> None:
    cur = run.current
    if not cur:
        return
    if cur.get("deciding"):
        raise UsageError(f"a decision was interrupted; run {CMD} status to finish it, then finalize")
    n = len(cur.get("trials", []))
    raise UsageError(f"iteration {cur.get('iter')} is in progress ({n} runs measured): finalize after "
                     f"{CMD} decide, or once the run has stopped")


def _context(run: Run) -> commits.Context:
    design = (run.summary.baseline or {}).get("design") or {}
    return commits.Context(run.key, run.config.metric_name, run.config.direction, design.get("kind"))


def _targets(run: Run, names: list[str], force: bool) -> list[tuple[str, str | None]]:
    """(name, its current sha or None) for each target branch; UsageError
    when one cannot or must not be written."""
    protected = {b for b in (run.meta.get("start_branch"), run.meta.get("branch"),
                             gitops.current_branch(run.root)) if b}
    out = []
    for name in names:
        if not gitops.valid_branch_name(name):
            raise UsageError(f"--branch {name!r} is not a valid branch name")
        if name in protected:
            raise UsageError(f"refusing to write branch {name}: it is your branch, the run branch or the "
                             "checked-out branch; choose another --branch")
        conflicts = gitops.branch_conflicts(run.root, name)
        if conflicts:
            raise UsageError(f"cannot create branch {name}: branch {conflicts[0]} exists; choose another --branch")
        old = gitops.ref_sha(run.root, f"refs/heads/{name}")
        if old and not force:
            raise UsageError(f"branch {name} exists; pass --force to replace it, or choose another --branch")
        out.append((name, old))
    return out


def _chain(run: Run, kept: list[dict], messages: list[str]) -> str:
    """Commits on top of the start commit, one per (record, message): each
    with the tree of the record's commit on the run branch."""
    parent = run.start_sha
    for rec, msg in zip(kept, messages):
        parent = gitops.commit_tree_as(run.root, gitops.tree_of(run.root, rec["sha"]), parent, msg,
                                       gitops.author_env(run.root, rec["sha"]))
    return parent


def _split(run: Run, kept: list[dict], ctx: commits.Context, squash: bool) -> list[dict]:
    """One branch tip per group of changes touching disjoint files."""
    root, prev, touched = run.root, run.start_sha, []
    for rec in kept:
        touched.append(sorted(path for _, path in gitops.name_status(root, prev, rec["sha"])))
        prev = rec["sha"]
    groups = plan.group_disjoint(touched)
    out = []
    for k, group in enumerate(groups, 1):
        files = sorted({f for i in group for f in touched[i]})
        recs = [kept[i] for i in group]
        parent = run.start_sha
        if squash:
            tree = gitops.compose_tree(root, run.start_sha, [(recs[-1]["sha"], files)])
            msg = commits.group_message(recs, ctx, files, k, len(groups))
            parent = gitops.commit_tree_as(root, tree, parent, msg, gitops.author_env(root, recs[-1]["sha"]))
        else:
            for rec in recs:
                tree = gitops.compose_tree(root, run.start_sha, [(rec["sha"], files)])
                parent = gitops.commit_tree_as(root, tree, parent, commits.change_message(rec, ctx),
                                               gitops.author_env(root, rec["sha"]))
        out.append({"tip": parent, "changes": [r["iter"] for r in recs], "files": files,
                    "commits": 1 if squash else len(recs), "title": commits.group_subject(recs, ctx, k, len(groups))})
    return out


def finalize(cwd: Path, branch: str | None = None, squash: bool = False, split: bool = False,
             force: bool = False) -> dict:
    with store_of(cwd).lock():  # a measurement holds this lock: finalize waits for no one, it refuses
        run = load(cwd)
        _refuse_while_busy(run)
        edited = [p for p in run.tampered if p in STATE_EDITS] or run.tampered
        if edited:
            raise UsageError(f"cannot finalize: {edited[0]}")
        records = run.history
        kept = plan.kept_changes(records)
        if not kept:
            raise UsageError("no change was kept: there is nothing to finalize")
        best_sha = run.best["sha"]
        if kept[-1]["sha"] != best_sha:
            raise UsageError("the log's last kept change is not the run's best commit; run "
                             f"{CMD} status and read instructions/reverting.md")
        ctx = _context(run)
        mode = plan.SPLIT if split else plan.SQUASH if squash else plan.COMMITS
        tot = total(run.summary, run.config.direction)
        best_tree = gitops.fresh_tree(run.root, best_sha)
        if mode == plan.SPLIT:
            groups = _split(run, kept, ctx, squash)
            combined = gitops.compose_tree(run.root, run.start_sha, [(g["tip"], g["files"]) for g in groups])
            if combined != best_tree:
                raise gitops.GitError("the split branches do not add up to the best commit's tree; "
                                      "nothing was written (finalize without --split)")
        else:
            if squash:
                msg = commits.squash_message(kept, ctx, total=tot, baseline=(run.summary.baseline or {}).get("avg"),
                                             best=run.best["score"])
                tip = gitops.commit_tree_as(run.root, gitops.tree_of(run.root, best_sha), run.start_sha, msg,
                                            gitops.author_env(run.root, best_sha))
            else:
                tip = _chain(run, kept, [commits.change_message(r, ctx) for r in kept])
            if gitops.fresh_tree(run.root, tip) != best_tree:
                raise gitops.GitError("the review branch's tree differs from the best commit's; nothing was written")
            title = commits.headline(ctx, (run.summary.baseline or {}).get("avg"), run.best["score"], len(kept))
            groups = [{"tip": tip, "changes": [r["iter"] for r in kept], "commits": 1 if squash else len(kept),
                       "title": title}]
        names = plan.branch_names(run.key, mode, branch, len(groups))
        targets = _targets(run, names, force)
        gitops.set_branches(run.root, [(name, g["tip"], old) for (name, old), g in zip(targets, groups)],
                            f"ratchet finalize ({mode}) of run {run.key}")
    return _answer(run, mode, squash, names, targets, groups, best_sha)


def _answer(run: Run, mode: str, squash: bool, names, targets, groups, best_sha: str) -> dict:
    remotes = gitops.remotes(run.root)
    remote = "origin" if "origin" in remotes or not remotes else remotes[0]
    body = run.store.path("report.md")
    base = run.meta.get("start_branch")
    branches = []
    for (name, old), g in zip(targets, groups):
        entry = {"branch": name, "sha": g["tip"], "commits": g["commits"], "changes": g["changes"]}
        if "files" in g:
            entry["files"] = g["files"]
        if old:
            entry["replaced"] = old
        branches.append(entry)
    pr = [f"gh pr create --head {shlex.quote(n)}" + (f" --base {shlex.quote(base)}" if base else "")
          + f" --title {shlex.quote(g['title'])} --body-file {shlex.quote(str(body))}" for n, g in zip(names, groups)]
    out = {
        "mode": mode + (" (one commit per group)" if mode == plan.SPLIT and squash else ""),
        "branches": branches, "base": run.start_sha, "best": best_sha, "tree_verified": True,
        "push": f"git push -u {remote} " + " ".join(shlex.quote(n) for n in names),
        "pr": pr if len(pr) > 1 else pr[0],
        "next": (f"review with git log -p {shlex.quote(names[0])}; then push and open the pull request"
                 + ("" if body.exists() else f" ({CMD} report writes its body, {run.store.rel(body)})")),
    }
    if not remotes:
        out["note"] = "this repository has no remote yet: git remote add origin URL first"
    if mode == plan.SPLIT:
        out["split_note"] = ("each branch holds the changes of one group of files, built from the start "
                             "commit on its own; together they add up to the best tree (checked), but they "
                             "were measured together, not one by one")
    return out

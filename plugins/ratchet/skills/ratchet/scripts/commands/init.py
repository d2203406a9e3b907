"""`init`: validate every input, then create .ratchet/, the run branch and config.json."""

from __future__ import annotations

import datetime as _dt
import secrets
from pathlib import Path

from commands.common import fingerprint, now
from core import scope
from core.config import build_parser, config_from_namespace
from core.errors import UsageError, brief
from core.runstate import next_step
from shell import gitops
from shell.store import CONFIG_COPY, Store, TamperedState


def init(argv: list[str], cwd: Path) -> dict:
    """Validate everything, then create .ratchet/, the branch and config.json."""
    ns = build_parser().parse_args(argv)
    instructions_text = None
    if ns.instructions_file is not None and ns.instructions is None:
        path = Path(cwd, ns.instructions_file)
        try:
            instructions_text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UsageError(f"cannot read --instructions-file {ns.instructions_file}: {reason}") from None
    cfg = config_from_namespace(ns, instructions_text)
    root = gitops.repo_root(cwd)
    start = gitops.head_sha(root)
    if start is None:
        raise UsageError("the repository has no commits yet; commit your code first (git commit)")
    workdir = Path(cwd).resolve().relative_to(root.resolve()).as_posix()
    workdir = "" if workdir == "." else workdir
    report_rel = None
    if cfg.report_is_file:
        try:
            report_rel = (root / workdir / cfg.report_source).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"--report-source {cfg.report_source} is outside the repository; "
                             "write the report inside it") from None
    _check_editable(root, cfg.editable)
    dirty = [p for p in gitops.dirty_paths(root) if p != report_rel]
    if dirty:
        raise UsageError(f"the working tree has uncommitted changes or untracked files ({brief(dirty)}); "
                         "commit them, stash them (git stash -u) or ignore them first")
    store = Store(root)
    if store.dir.exists() and not store.dir.is_dir():
        raise UsageError(f"{store.dir} exists and is not a folder; move it away (ratchet keeps its state there)")
    with store.lock():
        gitops.ensure_excluded(root, "/.ratchet/")
        previous = None
        if store.exists():
            try:
                old_id = store.read_sealed("config.json", None).get("run_id")
            except TamperedState:
                old_id = None
            previous = store.archive(str(old_id or f"unknown-{secrets.token_hex(3)}"))
        run_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        start_branch = gitops.current_branch(root)
        branch = start_branch
        if not cfg.no_branch:
            branch = f"ratchet/{run_id}"
            gitops.create_branch(root, branch)
        meta = {
            "run_id": run_id, "config": cfg.to_dict(), "start_sha": start,
            "start_branch": start_branch, "branch": branch, "workdir": workdir,
            "protected": fingerprint(root, cfg.protect), "created": now(),
        }
        store.write_sealed(CONFIG_COPY, meta, run_id)
        store.write_sealed("config.json", meta, run_id)
    warnings = []
    if not cfg.protect:
        warnings.append("no --protect given: nothing stops an edit to the benchmark itself")
    if cfg.protect and not meta["protected"]:
        warnings.append("--protect matched no files")
    scope_view = {"editable": list(cfg.editable)} if cfg.editable else {}
    if cfg.constraints:
        scope_view["constraints"] = list(cfg.constraints)
    return {
        "ok": True, "run_id": run_id, "branch": branch, "start_sha": start,
        "protected_files": len(meta["protected"]), **scope_view,
        "archived_previous": store.rel(previous) if previous else None,
        "instructions": cfg.instructions, "warnings": warnings,
        "next": next_step("baseline"),
    }


def _check_editable(root: Path, globs: tuple[str, ...]) -> None:
    """Each --editable glob must match a tracked file: a typo would make every change a violation."""
    if not globs:
        return
    tracked = [p for p in gitops.git(root, "ls-files", "-z").split("\0") if p]
    for glob in globs:
        if not any(scope.matches(p, glob) for p in tracked):
            raise UsageError(f"--editable {glob!r} matches no tracked file; globs are relative to the "
                             f"repository root ({root.name}/), like --protect")

"""`report`: the morning report. Reads the whole log once, builds the report
model (`views.report`), writes the HTML page (`views.html`) and the Markdown
summary (`views.markdown`) into `.ratchet/` (or `--out DIR`).

A reader: it takes no lock and changes nothing in the run. It can run while
a measurement is going on (the page then says which iteration is being
measured). An `--out` folder inside the work tree that git does not ignore
is refused while the run goes on: the files would be swept into the next
measured change (or removed by the next revert).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from core.errors import UsageError
from shell import gitops
from shell.context import Run, load
from shell.store import atomic_write
from views import html, markdown
from views import report as model
from views.status import total, warnings

HTML_NAME, MARKDOWN_NAME = "report.html", "report.md"


def build(run: Run) -> model.Report:
    """The report model of `run` (reads the whole log)."""
    cur = run.current
    in_progress = {"iter": cur.get("iter"), "trials": len(cur.get("trials", []))} if cur else None
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return model.build(run.history, meta=run.meta, metric=run.config.metric_name, direction=run.config.direction,
                       total=total(run.summary, run.config.direction), stop=run.stop, warnings=warnings(run),
                       in_progress=in_progress, generated=generated, scope=scope_lines(run.config))


def scope_lines(cfg) -> list[str]:
    """What the run allowed to change and what had to hold, for the report."""
    lines = [f"editable: {', '.join(cfg.editable)}"] if cfg.editable else []
    return lines + [f"constraint: {c}" for c in cfg.constraints]


def _out_dir(run: Run, cwd: Path, out: str | None) -> Path:
    """Where the files go; UsageError (nothing written) when it cannot be used."""
    if out is None:
        return run.store.dir
    target = (Path(cwd) / out).resolve()
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    root = run.root.resolve()
    try:
        rel = target.relative_to(root).as_posix()
    except ValueError:
        return target  # outside the repository
    inside_state = rel == ".ratchet" or rel.startswith(".ratchet/")
    if rel == ".git" or rel.startswith(".git/"):
        raise UsageError(f"--out {out} is inside .git; choose another folder")
    if not inside_state and not run.stop["stopped"]:
        probe = HTML_NAME if rel == "." else f"{rel}/{HTML_NAME}"
        if not gitops.ignored_among(run.root, [probe]):
            raise UsageError(f"--out {out} is inside the work tree and not ignored by git: the report would "
                             "become part of the next measured change; use the default (.ratchet/), a folder "
                             "git ignores, or one outside the repository")
    return target


def report(cwd: Path, out: str | None = None) -> dict:
    run = load(cwd)
    folder = _out_dir(run, cwd, out)
    rep = build(run)
    folder.mkdir(parents=True, exist_ok=True)
    page, md = folder / HTML_NAME, folder / MARKDOWN_NAME
    atomic_write(page, html.page(rep, MARKDOWN_NAME).encode("utf-8"))
    atomic_write(md, markdown.summary(rep).encode("utf-8"))
    stop = run.stop
    answer = {
        "html": str(page), "markdown": str(md), "url": page.as_uri(),
        "iterations": len(rep.iterations), "kept": len(rep.kept_changes),
        "total": rep.total, "stopped": stop["stopped"],
    }
    answer["next"] = (f"open {page} in a browser; paste {md} into the pull request; "
                      + ("ratchet.py finalize makes a branch for review" if rep.kept_changes
                         else "no change was kept, so there is nothing to finalize"))
    return answer

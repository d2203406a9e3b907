"""What `finalize` builds, decided on plain data. Pure.

- `kept_changes(records)`: the kept iterations after the baseline, in order.
- `group_disjoint(paths)`: kept changes split into groups that touch
  disjoint files (two changes touching a common file, directly or through a
  chain of others, share a group), for `--split`.
- `branch_names(...)`: the review branch names for a mode.
"""

from __future__ import annotations

COMMITS, SQUASH, SPLIT = "commits", "squash", "split"


def kept_changes(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("kept") and r.get("iter", 0) > 0]


def group_disjoint(paths: list[list[str]]) -> list[list[int]]:
    """Indexes of `paths` (one list of files per change) grouped so that no
    two groups share a file. Groups are ordered by their first change, and
    the changes inside a group keep their order."""
    parent = list(range(len(paths)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, files in enumerate(paths):
        for f in files:
            if f in owner:
                a, b = find(owner[f]), find(i)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[f] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(paths)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def branch_names(run_id: str, mode: str, given: str | None, n_groups: int = 1) -> list[str]:
    """Default: ratchet/<run_id>-review (one commit per change),
    ratchet/<run_id>-squash, ratchet/<run_id>-split-1, -2, ... With
    `given`, that name (split: name-1, name-2, ...)."""
    base = given or f"ratchet/{run_id}-" + {COMMITS: "review", SQUASH: "squash", SPLIT: "split"}[mode]
    if mode == SPLIT:
        return [f"{base}-{k}" for k in range(1, n_groups + 1)]
    return [base]

"""Escalation: what the next change should be after iterations without a keep. Pure.

The ladder, counted over the trailing iterations without a keep (`n`,
`core.history.Summary.trailing_not_kept`), with `Config.refine_after` (R,
default 3), `Config.pivot_after` (P, default 5), `Config.widen_after_pivots`
(W, default 2) and `Config.plateau_after_pivots` (H, default 0 = off; `loop`
starts its runs with 3):

- `explore`  n < R: any promising idea;
- `refine`   R <= n < P: stay with what worked, refine it in small steps;
- `pivot`    pivots = n // P >= 1: a structurally different approach;
- `widen`    pivots >= W: re-read the code and search more widely first;
- `plateau`  H > 0 and pivots >= H: stop (`core.decision.stop_of` reason `plateau`).

The same directive is shown in `status`/`next` (interactive) and in every
loop prompt, so both modes escalate alike.
"""

from typing import NamedTuple

LEVELS = ("explore", "refine", "pivot", "widen", "plateau")

TEXTS = {
    "explore": "Pick the most promising idea not tried yet.",
    "refine": "{n} iterations in a row without a keep: refine what worked best so far in a small, "
              "careful step rather than trying something unrelated.",
    "pivot": "{n} iterations in a row without a keep: pivot to a structurally different approach "
             "(another algorithm, data layout or library), not a variation of the recent attempts.",
    "widen": "{n} iterations in a row without a keep after {pivots} pivots: re-read the code from scratch "
             "and search more widely (other files, the hot path end to end) before the next change.",
    "plateau": "{n} iterations in a row without a keep after {pivots} pivots: the run has plateaued; stop.",
}


class Directive(NamedTuple):
    level: str
    misses: int   # trailing iterations without a keep
    pivots: int   # pivots made so far (misses // pivot_after)
    text: str

    def to_dict(self) -> dict:
        return {"level": self.level, "misses": self.misses, "pivots": self.pivots, "text": self.text}


def directive(misses: int, refine_after: int = 3, pivot_after: int = 5, widen_after_pivots: int = 2,
              plateau_after_pivots: int = 0) -> Directive:
    """The directive after `misses` iterations in a row without a keep (thresholds >= 1; a
    `plateau_after_pivots` of 0 never halts)."""
    misses = max(0, int(misses))
    pivots = misses // pivot_after if pivot_after > 0 else 0
    if plateau_after_pivots and pivots >= plateau_after_pivots:
        level = "plateau"
    elif pivots >= max(widen_after_pivots, 1) and widen_after_pivots:
        level = "widen"
    elif pivots >= 1:
        level = "pivot"
    elif misses >= refine_after:
        level = "refine"
    else:
        level = "explore"
    return Directive(level, misses, pivots, TEXTS[level].format(n=misses, pivots=pivots))


def of_config(cfg, misses: int) -> Directive:
    """`directive` with the thresholds of a `core.config.Config`."""
    return directive(misses, cfg.refine_after, cfg.pivot_after, cfg.widen_after_pivots, cfg.plateau_after_pivots)

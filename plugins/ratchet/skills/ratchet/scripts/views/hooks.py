"""What the plugin's hooks tell the model. Pure.

Both texts are short (they land in the model's context, possibly many times
a night) and name the exact command to run: the status command spelled as
SKILL.md spells it, so the skill's `allowed-tools` lets it through.
"""

from __future__ import annotations

INSTRUCTIONS_SHOWN = 300  # characters of --instructions repeated in the reminder
SKILL = "ratchet:ratchet"
# After a resume the skill's allowed-tools no longer apply: loading the skill
# again restores its steps and its permissions. The model's own Skill call
# needs the user's approval (refused outright in `claude -p`); the user's
# `/ratchet resume` always works.
RELOAD = (f"load the skill again with the Skill tool (skill `{SKILL}`, args `resume`; if that is refused, "
          f"ask the user to type `/ratchet resume`)")


def status_command(skill_dir: str) -> str:
    return f"python3 {skill_dir}/scripts/ratchet.py status"


def _where(iteration: int, phase: str) -> str:
    return "baseline" if iteration == 0 else f"iteration {iteration}, {phase}"


def block_reason(run_id: str, iteration: int, phase: str, next_hint: str | None, skill_dir: str) -> str:
    """The Stop hook's reason for blocking an end of turn: the model reads
    it as its next input."""
    hint = f" (now: {next_hint})" if next_hint else ""
    return (f"The ratchet run {run_id} is not finished ({_where(iteration, phase)}): do not end your turn, "
            f"and do not ask the user whether to go on. Run `{status_command(skill_dir)}` and do what its "
            f"`next` says{hint}; repeat until `stop.stopped` is true. Stopping is ratchet's job "
            f"(its stop conditions, or the user's `ratchet.py stop`). If that command needs approval, "
            f"{RELOAD} first.")


def _instructions(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= INSTRUCTIONS_SHOWN:
        return text
    return text[:INSTRUCTIONS_SHOWN].rstrip() + "... (in full: `instructions` in the status answer)"


def reminder(source: str, run_id: str, iteration: int, phase: str, instructions: str, skill_dir: str,
             other_session: bool = False) -> str:
    """The SessionStart hook's context after a compaction or a resume."""
    after = "the conversation was compacted" if source == "compact" else "this session was resumed"
    head = f"ratchet reminder ({after}): run {run_id} is in progress in this repository ({_where(iteration, phase)})."
    if other_session:
        return (f"{head} Another session drives it: leave it alone unless the user asks you to resume it "
                f"(then {RELOAD}).")
    rules = f" The run's instructions are binding: {_instructions(instructions)}" if instructions.strip() else ""
    return (f"{head} Its steps and permissions were in the earlier context, so {RELOAD}, then run "
            f"`{status_command(skill_dir)}` and do what its `next` says until `stop.stopped` is true. "
            f"ratchet owns measurement and git: never type a score, never run git commit, reset, checkout or "
            f"stash yourself.{rules}")

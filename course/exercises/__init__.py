"""Self-checks for the exercises: each check prints one line of feedback and returns a bool.

An answer left as `...` counts as "not attempted yet" (a hint, no error), so a notebook runs
top to bottom before the learner has done anything. Each notebook's checks live in its own
module (`course.exercises.basics`, ...); the notebook's solution cell asserts its check passes.
"""

from __future__ import annotations

from typing import Any


def not_attempted(answer: Any) -> bool:
    """True if the learner left the placeholder `...` (or None) in place."""
    return answer is Ellipsis or answer is None


def feedback(ok: bool, praise: str, hint: str) -> bool:
    """Print a tick and the praise, or a cross and the hint; return ok."""
    print(("✅ " + praise) if ok else ("❌ " + hint))
    return ok


def placeholder(hint: str) -> bool:
    """The learner has not answered yet: say what to do, do not fail."""
    print("✏️  Not attempted yet: " + hint)
    return False


def as_number(answer: Any, what: str) -> float | None:
    """The answer as a float, or None after saying it should be `what` (one number)."""
    try:
        return float(answer)
    except (TypeError, ValueError):
        feedback(False, "", f"Expected one number ({what}), got {answer!r}.")
        return None

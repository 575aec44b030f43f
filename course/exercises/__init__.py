"""Self-checks for the exercises: an id and a title, one line of feedback, and a progress record.

Each notebook's checks live in its own module (`course.exercises.basics`, ...), each marked with
its id (notebook number, dot, exercise number in notebook order) and a title:

    @exercise("06.1", "Evaluate a model on new triplets")
    def check_triplet_evaluator(answer, model): ...

A check prints one line ("✅ 06.1 Evaluate a model on new triplets: ...") and returns a `Result`:
true when the answer passed, so a solution cell can `assert ex.check_...(solution)`, and with no
display of its own, so a notebook shows the feedback line and nothing under it. Every attempt is
appended to the progress record (`course.progress`). An answer left as `...` counts as "not
attempted yet": a hint, no error and no record, so a notebook runs top to bottom before the
learner has done anything.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import linecache
import pkgutil
import re
import sys
from dataclasses import dataclass, replace
from typing import Any

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
SOLUTION_TITLE = "#@title Solution"  # the first line of every solution cell (course.nbtools)
_ID_RE = re.compile(r"(\d\d)\.([1-9]\d*)")


@dataclass(frozen=True)
class Exercise:
    """One self-checked exercise: its id ("06.1"), title, and the check that marks it."""

    id: str
    title: str
    check: str  # module.function, e.g. "course.exercises.training.check_triplet_evaluator"

    @property
    def notebook(self) -> str:
        """The two-digit number of the notebook the exercise belongs to."""
        return self.id.split(".")[0]

    @property
    def order(self) -> tuple[int, int]:
        """Sort key: notebook, then exercise number (06.2 before 06.10)."""
        nb, n = self.id.split(".")
        return int(nb), int(n)


@dataclass(frozen=True)
class Result:
    """What a check returns: true if the answer passed; shows nothing in a notebook (the check
    has printed its feedback line already)."""

    status: str
    message: str = ""
    id: str = ""
    title: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """A check cell's last expression: display nothing (no bare `False` under the hint)."""

    def __repr__(self) -> str:
        return f"Result({self.id or '?'} {self.status})"


REGISTRY: dict[str, Exercise] = {}
_CURRENT: contextvars.ContextVar[Exercise | None] = contextvars.ContextVar("exercise", default=None)


def exercise(id: str, title: str):
    """Mark a check function as exercise `id` ("06.1") with a title: it prints its feedback under
    that name, returns a `Result`, and records each attempt (course.progress)."""
    if not _ID_RE.fullmatch(id):
        raise ValueError(f"Exercise id {id!r} should be the notebook number, a dot and the "
                         "exercise's number in that notebook, e.g. '06.1'.")

    def mark(check):
        name = f"{check.__module__}.{check.__name__}"
        other = REGISTRY.get(id)
        if other is not None and other.check != name:
            raise ValueError(f"Exercise id {id} is taken by {other.check}; give {name} the next free id.")
        ex = REGISTRY[id] = Exercise(id, title, name)

        @functools.wraps(check)
        def run(*args, **kwargs) -> Result:
            by = caller()
            token = _CURRENT.set(ex)
            try:
                out = check(*args, **kwargs)
            finally:
                _CURRENT.reset(token)
            result = out if isinstance(out, Result) else Result(PASSED if out else FAILED)
            result = replace(result, id=ex.id, title=ex.title)
            if result.status != NOT_ATTEMPTED:
                from course import progress

                progress.record(result, by)
            return result

        run.exercise = ex
        return run

    return mark


def caller() -> str:
    """'solution' if a notebook cell whose first line is `#@title Solution` is on the call stack
    (IPython keeps each cell's source in linecache), else 'learner'."""
    frame = sys._getframe(1)
    while frame is not None:
        lines = linecache.getlines(frame.f_code.co_filename)
        if lines and lines[0].startswith(SOLUTION_TITLE):
            return "solution"
        frame = frame.f_back
    return "learner"


def all_exercises() -> list[Exercise]:
    """Every exercise of the course (the checks in this package), in course order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted((e for e in REGISTRY.values() if e.check.startswith(f"{__name__}.")), key=lambda e: e.order)


def not_attempted(answer: Any) -> bool:
    """True if the learner left the placeholder `...` (or None) in place."""
    return answer is Ellipsis or answer is None


def _say(mark: str, text: str) -> None:
    """Print one feedback line, under the running exercise's id and title."""
    ex = _CURRENT.get()
    print(f"{mark} {ex.id} {ex.title}: {text}" if ex else f"{mark} {text}")


def feedback(ok: bool, praise: str, hint: str) -> Result:
    """Print a tick and the praise, or a cross and the hint; a result that is true if ok."""
    _say("✅" if ok else "❌", praise if ok else hint)
    return Result(PASSED if ok else FAILED, praise if ok else hint)


def placeholder(hint: str) -> Result:
    """The learner has not answered yet: say what to do, do not fail."""
    _say("✏️ ", "Not attempted yet: " + hint)
    return Result(NOT_ATTEMPTED, hint)


def as_number(answer: Any, what: str) -> float | None:
    """The answer as a float, or None after saying it should be `what` (one number)."""
    try:
        return float(answer)
    except (TypeError, ValueError):
        feedback(False, "", f"Expected one number ({what}), got {answer!r}.")
        return None

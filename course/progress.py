"""The learner's progress: one JSON line per checked exercise, and the tables that read it.

Every `course.exercises` check appends {"id", "title", "passed", "time", "by"} to
`progress_path()`: COURSE_PROGRESS if set, else `artifacts_dir()/progress.jsonl`, so a smoke run
(tests, CI), whose artifacts live in artifacts/smoke/, never touches a learner's record.
`by` is "solution" when the call came from a solution cell (first line `#@title Solution`) and
"learner" otherwise; only a learner's pass counts. An answer left as `...` is not an attempt
and is not recorded.

    python -m course progress                        # a table per notebook, the total, what to do next
    python -m course progress --json [FILE ...]      # for graders: one JSON object per progress file
    python -m course progress --nbgrader grades.csv FILE ...   # nbgrader's grade export, one row per
                                                     # notebook and student (file alice.jsonl -> alice)

In a notebook, its last cell calls `course.progress.show("06")`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from course.env import CourseError, artifacts_dir
from course.exercises import Exercise, Result, all_exercises

ENV = "COURSE_PROGRESS"
BY = ("learner", "solution")
FIELDS = {"id": str, "title": str, "passed": bool, "time": str, "by": str}
MARKS = {"passed": "✅", "tried": "❌", "solution": "📖", "not yet": "✏️ "}
NBGRADER_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score")


class ProgressError(CourseError):
    """A progress file that cannot be read: the message names the file, the line and the fix."""


def progress_path() -> Path:
    """Where checks record attempts: $COURSE_PROGRESS, else artifacts_dir()/progress.jsonl."""
    override = os.environ.get(ENV, "").strip()
    return Path(override).expanduser() if override else artifacts_dir() / "progress.jsonl"


def now() -> str:
    """The current time, UTC, to the second, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record(result: Result, by: str, path: Path | None = None) -> None:
    """Append one attempt to the progress file; a file that cannot be written costs a note, not the check."""
    path = path or progress_path()
    line = {"id": result.id, "title": result.title, "passed": result.passed, "time": now(), "by": by}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    except OSError as err:
        print(f"   (progress not saved: {path}: {err.strerror}; set {ENV} to a file you can write)")


def load(path: Path, must_exist: bool = False) -> list[dict]:
    """The records of one progress file (none if it does not exist yet), each line checked."""
    if not path.exists():
        if must_exist:
            raise ProgressError(f"{path} does not exist: give the path of a progress file "
                                "(a learner's artifacts/progress.jsonl).")
        return []
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise ProgressError(f"{path}, line {n}: not JSON ({err.msg}); fix or delete that line.") from None
        problem = _problem(rec)
        if problem:
            raise ProgressError(f"{path}, line {n}: {problem}; each line is one object "
                                f"{{{', '.join(FIELDS)}}} written by a check: fix or delete that line.")
        records.append(rec)
    return records


def _problem(rec) -> str:
    """Why a parsed line is not a progress record ('' if it is one)."""
    if not isinstance(rec, dict):
        return "not a JSON object"
    missing = [k for k in FIELDS if k not in rec]
    if missing:
        return f"missing {', '.join(missing)}"
    wrong = [k for k, kind in FIELDS.items() if not isinstance(rec[k], kind)]
    if wrong:
        return f"{', '.join(wrong)} of the wrong type"
    if rec["by"] not in BY:
        return f"by is {rec['by']!r}, not one of {', '.join(BY)}"
    try:
        datetime.fromisoformat(rec["time"])
    except ValueError:
        return f"time {rec['time']!r} is not an ISO 8601 time"
    return ""


@dataclass
class Standing:
    """Where the learner stands on one exercise, from the records."""

    exercise: Exercise
    tries: int = 0  # the learner's attempts
    passed_at: str | None = None  # the learner's first pass
    last: str | None = None  # the learner's last attempt
    solution_runs: int = 0

    @property
    def status(self) -> str:
        """passed (by the learner), tried (not passed yet), solution (only the solution ran), not yet."""
        if self.passed_at:
            return "passed"
        return "tried" if self.tries else "solution" if self.solution_runs else "not yet"

    def as_dict(self) -> dict:
        ex = self.exercise
        return {"id": ex.id, "title": ex.title, "notebook": ex.notebook, "status": self.status,
                "passed": self.status == "passed", "tries": self.tries, "first_passed": self.passed_at,
                "last_try": self.last, "solution_runs": self.solution_runs}


@dataclass
class Progress:
    """Every exercise's standing for one progress file, in course order."""

    standings: list[Standing]
    ignored: list[str] = field(default_factory=list)  # ids the course no longer has

    @property
    def passed(self) -> int:
        return sum(s.status == "passed" for s in self.standings)

    @property
    def next(self) -> Exercise | None:
        """The first exercise, in course order, the learner has not passed."""
        return next((s.exercise for s in self.standings if s.status != "passed"), None)

    def notebook(self, number: str) -> list[Standing]:
        return [s for s in self.standings if s.exercise.notebook == number]


def standings(records: Iterable[dict], exercises: Sequence[Exercise] | None = None) -> Progress:
    """Fold the records into one standing per exercise; only the learner's passes count."""
    exercises = all_exercises() if exercises is None else exercises
    by_id = {ex.id: Standing(ex) for ex in exercises}
    ignored = []
    for rec in sorted(records, key=lambda r: _utc(r["time"])):
        s = by_id.get(rec["id"])
        if s is None:
            ignored.append(rec["id"])
        elif rec["by"] == "solution":
            s.solution_runs += 1
        else:
            s.tries, s.last = s.tries + 1, rec["time"]
            if rec["passed"] and not s.passed_at:
                s.passed_at = rec["time"]
    return Progress(list(by_id.values()), ignored)


def _utc(time: str) -> datetime:
    """An ISO time as a naive UTC datetime (what nbgrader's gradebook stores)."""
    t = datetime.fromisoformat(time)
    return (t.astimezone(timezone.utc) if t.tzinfo else t).replace(tzinfo=None)


def _line(s: Standing) -> str:
    detail = {"passed": f"passed ({s.tries} {'try' if s.tries == 1 else 'tries'})",
              "tried": f"not passed yet ({s.tries} {'try' if s.tries == 1 else 'tries'})",
              "solution": "only the solution cell ran: try it yourself",
              "not yet": "not attempted"}[s.status]
    return f"  {MARKS[s.status]} {s.exercise.id:<5} {s.exercise.title:<48} {detail}"


def _notebook_files() -> dict[str, str]:
    """Notebook number -> file name, where the notebooks are at hand (a clone of the course)."""
    try:
        from course.nbtools import notebooks
    except ImportError:
        return {}
    return {p.name[:2]: p.name for p in notebooks()}


def _next_line(progress: Progress) -> str:
    total = len(progress.standings)
    head = f"Course: {progress.passed}/{total} exercises passed."
    ex = progress.next
    if ex is None:
        return head + " Every exercise is done."
    where = _notebook_files().get(ex.notebook, f"notebook {ex.notebook}")
    return head + f" Next: {ex.id} {ex.title} ({where})."


def report(progress: Progress, notebooks: Sequence[str] | None = None) -> str:
    """The text table: one block per notebook (all, or those asked for), the total, what to do next."""
    numbers = list(dict.fromkeys(s.exercise.notebook for s in progress.standings))
    files = _notebook_files()
    lines = []
    for number in notebooks or numbers:
        rows = progress.notebook(number)
        done = sum(s.status == "passed" for s in rows)
        lines.append(f"{files.get(number, 'Notebook ' + number)}: {done}/{len(rows)} passed")
        lines += [_line(s) for s in rows]
    lines.append(_next_line(progress))
    if progress.ignored:
        lines.append(f"({len(progress.ignored)} record(s) of exercises this course does not have, "
                     f"e.g. {progress.ignored[0]}, ignored.)")
    return "\n".join(lines)


def show(notebook: str | int) -> None:
    """Print the learner's progress in one notebook ("06"), the course total and the next exercise."""
    number = f"{int(notebook):02d}" if str(notebook).strip().isdigit() else str(notebook)
    exercises = all_exercises()
    if number not in {ex.notebook for ex in exercises}:
        known = sorted({ex.notebook for ex in exercises})
        raise ProgressError(f"No exercises for notebook {notebook!r}; the notebooks with exercises are "
                            f"{', '.join(known)}.")
    path = progress_path()
    print(report(standings(load(path), exercises), [number]))
    print(f"(Your record: {path}; `python -m course progress` shows every notebook.)")


def student_id(path: Path) -> str:
    """A progress file's student: its name without .jsonl (alice.jsonl -> alice), or its folder's name
    for a file called progress.jsonl (alice/progress.jsonl -> alice)."""
    name = path.parent.resolve().name if path.stem == "progress" else path.stem
    if not name or any(ch in name for ch in ',"\n\r'):
        raise ProgressError(f"{path}: cannot take a student id from this path ({name!r}); name the file "
                            "after the student, e.g. alice.jsonl (no commas or quotes).")
    return name


def as_json(files: dict[str, Path], progresses: dict[str, Progress]) -> list[dict]:
    """For graders: per progress file, the student, the totals, the next exercise and every standing."""
    return [{"student": student, "file": str(files[student]), "passed": p.passed, "total": len(p.standings),
             "next": p.next.id if p.next else None, "ignored_records": len(p.ignored),
             "exercises": [s.as_dict() for s in p.standings]} for student, p in progresses.items()]


def nbgrader_csv(progresses: dict[str, Progress]) -> str:
    """nbgrader's grade export (`nbgrader export`, CsvExportPlugin): one row per notebook (the
    assignment, named by its number) and student. A notebook the learner tried is a submission,
    timestamped by the last try, scored by the learner's passes out of its exercises; one never
    tried scores 0 with no timestamp, as nbgrader writes a missing submission."""
    rows = [",".join(NBGRADER_COLUMNS)]
    notebooks = list(dict.fromkeys(s.exercise.notebook for p in progresses.values() for s in p.standings))
    for number in sorted(notebooks):
        for student in sorted(progresses):
            mine = progresses[student].notebook(number)
            tries = [s.last for s in mine if s.last]
            score = float(sum(s.status == "passed" for s in mine)) if tries else 0.0
            stamp = str(max(_utc(t) for t in tries)) if tries else ""
            rows.append(",".join([number, "", stamp, student, "", "", "", str(score), "0.0", str(score),
                                  str(float(len(mine)))]))
    return "\n".join(rows) + "\n"


def cli(argv: list[str]) -> int:
    """Show the progress record: yours, or your learners' progress files, as text, JSON or nbgrader CSV."""
    ap = argparse.ArgumentParser(prog="python -m course progress", description=cli.__doc__)
    ap.add_argument("files", nargs="*", type=Path,
                    help=f"progress files (default: yours, {ENV} or artifacts/progress.jsonl); a "
                         "student's id is the file name (alice.jsonl) or its folder (alice/progress.jsonl)")
    ap.add_argument("--json", action="store_true", help="print JSON for graders: one object per file")
    ap.add_argument("--nbgrader", type=Path, metavar="CSV",
                    help="write nbgrader's grade export (CSV, one row per notebook and student) to CSV")
    args = ap.parse_args(argv)
    exercises = all_exercises()
    files = {student_id(f): f for f in args.files} if args.files else {"you": progress_path()}
    if args.files and len(files) < len(args.files):
        raise ProgressError("Two progress files give the same student id: name each file after its student.")
    progresses = {s: standings(load(f, must_exist=bool(args.files)), exercises) for s, f in files.items()}
    if args.nbgrader:
        args.nbgrader.write_text(nbgrader_csv(progresses), encoding="utf-8")
        print(f"wrote {args.nbgrader}: {len(progresses)} student(s) x "
              f"{len({ex.notebook for ex in exercises})} notebooks, nbgrader's export columns", file=sys.stderr)
    if args.json:
        print(json.dumps(as_json(files, progresses), indent=1, ensure_ascii=False))
    elif not args.nbgrader:
        if len(progresses) == 1:
            student, progress = next(iter(progresses.items()))
            print(report(progress))
            print(f"(Record: {files[student]})")
        else:
            for student, p in progresses.items():
                print(f"{student:<20} {p.passed:>3}/{len(p.standings)}  next: {p.next.id if p.next else 'done'}")
    return 0

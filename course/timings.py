"""How long each part of a notebook takes: measured per cell, and the minutes a class needs.

`python -m course run` executes notebooks with nbclient, which records when each cell started
and finished (`cell.metadata.execution`: iopub.status.busy / iopub.status.idle, ISO times).
`read()` turns an executed copy into per-section times (a section is a "## " heading and the
cells under it), `report()` prints them for an instructor.

The minutes in each notebook's first cell ("*About N minutes.*", and so the README's course
map) come from one rule, `minutes()`: the markdown read at WORDS_PER_MINUTE, the visible code
read at CODE_LINES_PER_MINUTE, MINUTES_PER_EXERCISE per exercise, plus the notebook's cpu run
time (a learner waits for the cells), rounded to ROUND_TO minutes. The cpu run time is kept in
the notebook's metadata (`course.cpu_run_s`, written with the minutes by
`python -m course timings --minutes --write`), so a test recomputes the rule from the notebook
file alone, without running it.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course.nbtools import MINUTES_RE, hidden_cells

WORDS_PER_MINUTE = 120  # studying, not skimming: half the 238 wpm of silent reading of non-fiction
CODE_LINES_PER_MINUTE = 10  # reading a line of code, and what it does, takes about 6 s
MINUTES_PER_EXERCISE = 5  # read the task, write a few lines, run the check once or twice
ROUND_TO = 5
TOLERANCE = 5  # the first cell may differ from the rule by this many minutes (run times drift)
INTRO = "(title and setup)"
_PROFILE_RE = re.compile(r"profile=(\w+)")
_EXERCISE_RE = re.compile(r"^#{2,3}\s.*\bExercise\b", re.M | re.I)


@dataclass
class CellTime:
    index: int  # position in the notebook (0-based, markdown cells included)
    number: int | None  # the execution count, [n] in the executed copy
    seconds: float
    first_line: str


@dataclass
class Section:
    title: str
    seconds: float = 0.0
    cells: list[CellTime] = field(default_factory=list)

    @property
    def slowest(self) -> CellTime | None:
        return max(self.cells, key=lambda c: c.seconds, default=None)


@dataclass
class NotebookTimes:
    notebook: str
    profile: str  # from the banner line the setup cell prints ("?" if none)
    executed: str  # when the first cell started, UTC
    seconds: float  # the cells' run time summed (kernel start-up not included)
    sections: list[Section]

    def cells(self) -> list[CellTime]:
        return [c for s in self.sections for c in s.cells]

    def over(self, seconds: float) -> list[CellTime]:
        """Cells that ran longer than `seconds`, slowest first."""
        return sorted((c for c in self.cells() if c.seconds > seconds), key=lambda c: -c.seconds)

    def to_dict(self) -> dict:
        return {**asdict(self), "sections": [{**asdict(s), "slowest": s.slowest and asdict(s.slowest)}
                                             for s in self.sections]}


def _time(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def cell_seconds(cell) -> float | None:
    """Wall time of one executed cell from nbclient's record (busy -> idle), None if it did not run."""
    ex = cell.get("metadata", {}).get("execution", {})
    start = ex.get("iopub.status.busy") or ex.get("iopub.execute_input")
    end = ex.get("iopub.status.idle") or ex.get("shell.execute_reply")
    return (_time(end) - _time(start)).total_seconds() if start and end else None


def first_line(source: str) -> str:
    """The line that names a cell: its first non-empty line that is not a Colab `#@title`."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    named = [ln for ln in lines if not ln.startswith("#@")] or lines or [""]
    return _short(named[0], 80)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def heading(source: str) -> str | None:
    """The text of a markdown cell's first level-2 heading ("## 3. Cosine similarity" -> "3. Cosine similarity")."""
    m = re.search(r"^##\s+(.+)$", source, re.M)
    return m.group(1).strip() if m else None


def read(path: Path) -> NotebookTimes:
    """Per-section times of an executed notebook (written by `python -m course run`)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    sections, profile, started = [Section(INTRO)], "?", ""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and heading(cell.source):
            sections.append(Section(heading(cell.source)))
        seconds = cell_seconds(cell) if cell.cell_type == "code" else None
        if seconds is None:
            continue
        started = started or cell.metadata["execution"].get("iopub.status.busy", "")
        sections[-1].cells.append(CellTime(i, cell.get("execution_count"), round(seconds, 2), first_line(cell.source)))
        sections[-1].seconds += seconds
        if profile == "?":
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            m = _PROFILE_RE.search(text)
            profile = m.group(1) if m else profile
    if not any(s.cells for s in sections):
        from course.env import CourseError

        raise CourseError(f"{path} has no cell timings: it is not an executed copy; "
                          f"run `python -m course run {path.name[:2]}` to make one in build/.")
    for s in sections:
        s.seconds = round(s.seconds, 1)
    sections = [s for s in sections if s.cells]
    return NotebookTimes(path.name, profile, started[:16].replace("T", " "), round(sum(s.seconds for s in sections), 1),
                         sections)


def report(times: NotebookTimes) -> str:
    """The instructor's table: per section its run time and its slowest cell."""
    lines = [f"{times.notebook}: {times.seconds:.0f} s in the {times.profile} profile "
             f"({len(times.cells())} code cells, run {times.executed} UTC)"]
    width = max(len(_short(s.title, 50)) for s in times.sections)
    for s in times.sections:
        slow = s.slowest
        lines.append(f"  {_short(s.title, 50):<{width}}  {s.seconds:7.1f} s   slowest [{slow.number}] "
                     f"{slow.seconds:.1f} s: {slow.first_line}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the minutes rule


@dataclass
class Minutes:
    notebook: str
    words: int  # markdown words
    code_lines: int  # non-empty lines of the code cells a learner sees (not solutions, not checks)
    exercises: int  # "## Exercise" / "### Exercise" headings
    run_s: float | None  # the cpu run time (None: unknown)
    minutes: int  # the rule's result
    stated: int | None  # what the first cell says now

    @property
    def agrees(self) -> bool:
        return self.stated is not None and abs(self.stated - self.minutes) <= TOLERANCE


def _words(text: str) -> int:
    text = re.sub(r"\]\([^)]*\)", "]", text)  # a link counts by its text, not its address
    return sum(any(ch.isalnum() for ch in token) for token in text.split())


def minutes(nb, run_s: float | None = None, name: str = "") -> Minutes:
    """The rule: words / WORDS_PER_MINUTE + code lines / CODE_LINES_PER_MINUTE + exercises *
    MINUTES_PER_EXERCISE + run_s / 60, rounded to ROUND_TO minutes (at least ROUND_TO).

    run_s defaults to the cpu run time recorded in the notebook's metadata (course.cpu_run_s).
    """
    if run_s is None:
        run_s = nb.metadata.get("course", {}).get("cpu_run_s")
    hidden = {i for i, _ in hidden_cells(nb)}
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code_lines = sum(1 for i, c in enumerate(nb.cells) if c.cell_type == "code" and i not in hidden
                     for ln in c.source.splitlines() if ln.strip())
    words, exercises = _words(markdown), len(_EXERCISE_RE.findall(markdown))
    raw = (words / WORDS_PER_MINUTE + code_lines / CODE_LINES_PER_MINUTE + exercises * MINUTES_PER_EXERCISE
           + (run_s or 0) / 60)
    stated = MINUTES_RE.search(nb.cells[0].source) if nb.cells else None
    return Minutes(name, words, code_lines, exercises, run_s, max(ROUND_TO, ROUND_TO * round(raw / ROUND_TO)),
                   int(stated.group(1)) if stated else None)


def write_minutes(path: Path, run_s: float) -> Minutes:
    """Record the cpu run time in the notebook's metadata and put the rule's minutes in its first cell."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.setdefault("course", {})["cpu_run_s"] = round(run_s)
    result = minutes(nb, name=path.name)
    if not MINUTES_RE.search(nb.cells[0].source):
        from course.env import CourseError

        raise CourseError(f"{path.name}'s first cell has no '*About N minutes.*' line to update; "
                          "write the header with course.nbtools.header().")
    nb.cells[0].source = MINUTES_RE.sub(f"*About {result.minutes} minutes.*", nb.cells[0].source, count=1)
    nbformat.write(nb, path)
    return minutes(nb, name=path.name)


# ---------------------------------------------------------------- python -m course timings


def _executed(names: list[str], folder: Path) -> list[Path]:
    from course.env import CourseError

    found = [p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb")) if not names or any(n in p.name for n in names)]
    if not found:
        raise CourseError(f"No executed copy{' matching ' + ', '.join(names) if names else ''} in {folder}/; "
                          "make them with `python -m course run --profile cpu` (or `make course`).")
    return found


def cpu_run(path: Path, folder: Path) -> float | None:
    """The cpu run time of notebook `path` from its executed copy in `folder`, if that copy is
    from the cpu profile and newer than the notebook; else None."""
    copy = folder / path.name
    if not copy.is_file() or copy.stat().st_mtime < path.stat().st_mtime:
        return None
    times = read(copy)
    return times.seconds if times.profile == "cpu" else None


def minutes_table(names: list[str], folder: Path, write: bool = False, echo=print) -> list[Minutes]:
    """The rule's minutes per notebook, with the cpu run time from `folder` where it holds an
    up-to-date cpu run (else the time recorded in the notebook); write=True records them."""
    import nbformat

    from course.nbtools import notebooks

    rows = []
    for path in notebooks():
        if names and not any(n in path.name for n in names):
            continue
        run_s = cpu_run(path, folder)
        if write and run_s is not None:
            rows.append(write_minutes(path, run_s))
        else:
            if write:
                echo(f"{path.name}: not written, {folder} holds no cpu run of it newer than the notebook "
                     f"(python -m course run --profile cpu {path.name[:2]})")
            rows.append(minutes(nbformat.read(path, as_version=4), run_s, path.name))
    return rows


def cli(argv: list[str]) -> int:
    """python -m course timings: per-section run times of the executed copies, or the minutes rule."""
    import argparse
    import json

    from course.nbtools import ROOT, sync_readme

    ap = argparse.ArgumentParser(prog="python -m course timings", description=cli.__doc__)
    ap.add_argument("notebooks", nargs="*", help="substrings of notebook names (default: all)")
    ap.add_argument("--dir", type=Path, default=ROOT / "build", help="where the executed copies are (default build/)")
    ap.add_argument("--over", type=float, default=None, metavar="S", help="also list every cell slower than S seconds")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument("--minutes", action="store_true", help="the minutes rule per notebook, against its first cell")
    ap.add_argument("--write", action="store_true", help="write the rule's minutes into the first cells (and the "
                    "cpu run time into their metadata) from up-to-date cpu runs in --dir; implies --minutes")
    args = ap.parse_args(argv)
    if args.minutes or args.write:
        rows = minutes_table(args.notebooks, args.dir, args.write)
        if args.write and sync_readme():
            print("updated the course map in README.md")
        if args.json:
            print(json.dumps([{**asdict(r), "agrees": r.agrees} for r in rows], indent=1))
            return 0
        print(f"rule: markdown words / {WORDS_PER_MINUTE} + code lines / {CODE_LINES_PER_MINUTE} + "
              f"{MINUTES_PER_EXERCISE} per exercise + the cpu run time, rounded to {ROUND_TO} min")
        print(f"{'notebook':36} {'words':>6} {'code':>5} {'exer.':>5} {'cpu run':>8} {'rule':>5} {'stated':>6}")
        for r in rows:
            run = f"{r.run_s:.0f} s" if r.run_s is not None else "unknown"
            note = "" if r.agrees else f"  <- off by more than {TOLERANCE} min"
            print(f"{r.notebook:36} {r.words:6} {r.code_lines:5} {r.exercises:5} {run:>8} {r.minutes:5} "
                  f"{r.stated if r.stated is not None else '?':>6}{note}")
        return 0
    found = [read(p) for p in _executed(args.notebooks, args.dir)]
    if args.json:
        print(json.dumps([t.to_dict() for t in found], indent=1))
        return 0
    for t in found:
        print(report(t))
        if args.over is not None:
            slow = t.over(args.over)
            print(f"  cells over {args.over:g} s: " + ("none" if not slow else ", ".join(
                f"[{c.number}] {c.seconds:.0f} s" for c in slow)))
        print()
    return 0


def run_times(job, repeats: int = 5) -> list[float]:
    """Seconds of `repeats` calls of job() timed with time.perf_counter, after one untimed warm-up
    call (the first call pays one-off costs: memory, caches)."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: time the job at least once (5 or more for a median).")
    job()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        runs.append(time.perf_counter() - start)
    return runs

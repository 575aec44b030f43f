"""Exercise ids, the checks' results and the progress record (course.exercises, course.progress)."""

from __future__ import annotations

import csv
import importlib
import io
import json
import linecache
import os
import pkgutil
import re
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

import course.exercises as exercises
from course import env, nbtools, progress
from course.__main__ import main
from course.exercises import Exercise, Result, exercise, feedback, placeholder

EXERCISES = exercises.all_exercises()
TOY = [Exercise("01.1", "First", "t.a"), Exercise("01.2", "Second", "t.b"), Exercise("02.1", "Third", "t.c")]


@pytest.fixture
def record_file(tmp_path, monkeypatch):
    """Every check in the test writes here, not to a real progress record."""
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv(progress.ENV, str(path))
    return path


@exercise("99.1", "A toy exercise")
def check_toy(answer):
    """Passes for 42."""
    if answer is ...:
        return placeholder("set answer to 42.")
    return feedback(answer == 42, "42 it is.", f"{answer} is not 42.")


def _rec(id_, passed, by="learner", time="2026-01-02T10:00:00+00:00"):
    return {"id": id_, "title": "t", "passed": passed, "time": time, "by": by}


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# ---- ids: one per check, in each notebook's order


def _exercise_calls(path) -> tuple[str, list[str]]:
    """The exercises module a notebook imports as `ex`, and the checks its exercise cells call, in order."""
    nb = nbformat.read(path, as_version=4)
    hidden = {i for i, _ in nbtools.hidden_cells(nb)}
    code = [c.source for i, c in enumerate(nb.cells) if c.cell_type == "code" and i not in hidden]
    module = re.search(r"from course\.exercises import (\w+) as ex", "\n".join(code))
    calls = re.findall(r"\bex\.(check_\w+)\(", "\n".join(code))
    return (module.group(1) if module else ""), list(dict.fromkeys(calls))


def test_every_check_is_an_exercise_with_an_id():
    for info in pkgutil.iter_modules(exercises.__path__):
        module = importlib.import_module(f"course.exercises.{info.name}")
        for name, fn in vars(module).items():
            if name.startswith("check_") and callable(fn):
                assert hasattr(fn, "exercise"), (
                    f"course.exercises.{info.name}.{name} has no id: add @exercise(\"NN.k\", \"a title\") above it")
    ids = [ex.id for ex in EXERCISES]
    assert len(ids) == len(set(ids)) and all(ex.title for ex in EXERCISES)


@pytest.mark.parametrize("path", nbtools.notebooks(), ids=lambda p: p.name)
def test_ids_follow_the_notebook_order(path):
    module_name, calls = _exercise_calls(path)
    assert calls, f"{path.name} calls no ex.check_* in an exercise cell"
    module = importlib.import_module(f"course.exercises.{module_name}")
    got = [getattr(module, name).exercise.id for name in calls]
    want = [f"{path.name[:2]}.{k}" for k in range(1, len(calls) + 1)]
    assert got == want, f"{path.name}: the checks {calls} should have the ids {want}, in this order"


def test_every_exercise_is_in_a_notebook():
    called = set()
    for path in nbtools.notebooks():
        module_name, calls = _exercise_calls(path)
        called |= {f"course.exercises.{module_name}.{name}" for name in calls}
    assert {ex.check for ex in EXERCISES} == called


def test_a_bad_or_taken_id_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="e.g. '06.1'"):
        exercise("6.1", "x")
    with pytest.raises(ValueError, match="taken by .*check_toy"):
        exercise("99.1", "again")(lambda answer: True)


# ---- what a check returns and prints


def test_a_check_prints_its_id_and_title_and_returns_a_result(record_file, capsys):
    result = check_toy(42)
    assert capsys.readouterr().out == "✅ 99.1 A toy exercise: 42 it is.\n"
    assert result and result.passed is True and result.status == "passed"
    wrong = check_toy(41)
    assert capsys.readouterr().out == "❌ 99.1 A toy exercise: 41 is not 42.\n"
    assert not wrong and wrong.passed is False and (wrong.id, wrong.title) == ("99.1", "A toy exercise")
    assert repr(wrong) == "Result(99.1 failed)"


def test_not_attempted_prints_the_hint_and_records_nothing(record_file, capsys):
    result = check_toy(...)
    assert capsys.readouterr().out == "✏️  99.1 A toy exercise: Not attempted yet: set answer to 42.\n"
    assert result.status == "not attempted" and not result
    assert not record_file.exists()


def test_a_result_displays_nothing_in_ipython():
    from IPython.core.formatters import DisplayFormatter

    assert DisplayFormatter().format(Result("not attempted")) == ({}, {})
    assert DisplayFormatter().format(False)[0] == {"text/plain": "False"}  # what a bare bool showed


def test_a_real_check_is_wrapped_and_keeps_its_feedback(record_file, capsys):
    from course.exercises import sbert

    assert sbert.check_pair_count(49_995_000)
    assert "✅ 04.1 Count the cross-encoder's pairs: 49,995,000 passes" in capsys.readouterr().out
    assert sbert.check_pair_count.__name__ == "check_pair_count" and sbert.check_pair_count.exercise.id == "04.1"


# ---- the record


def test_each_attempt_appends_one_line(record_file):
    check_toy(41)
    check_toy(42)
    lines = [json.loads(line) for line in record_file.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["title"], r["passed"], r["by"]) for r in lines] == [
        ("99.1", "A toy exercise", False, "learner"), ("99.1", "A toy exercise", True, "learner")]
    assert set(lines[0]) == {"id", "title", "passed", "time", "by"}
    assert datetime.fromisoformat(lines[0]["time"]).utcoffset().total_seconds() == 0


def _run_as_cell(source: str, filename: str) -> dict:
    """Run `source` the way IPython runs a cell: compiled under a name whose lines linecache holds."""
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    scope = {"check_toy": check_toy}
    try:
        exec(compile(source, filename, "exec"), scope)
    finally:
        del linecache.cache[filename]
    return scope


def test_a_call_from_a_solution_cell_is_recorded_as_the_solution(record_file):
    _run_as_cell("#@title Solution\nassert check_toy(42)\n", "/tmp/ipykernel_1/101.py")
    _run_as_cell("answer = 42\ncheck_toy(answer)\n", "/tmp/ipykernel_1/102.py")
    # a solution cell that calls the check through a helper of its own is still the solution
    _run_as_cell("#@title Solution\ndef helper():\n    return check_toy(42)\nhelper()\n", "/tmp/ipykernel_1/103.py")
    by = [json.loads(line)["by"] for line in record_file.read_text(encoding="utf-8").splitlines()]
    assert by == ["solution", "learner", "solution"]


def test_the_record_lives_with_the_artifacts_unless_moved(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.ENV, raising=False)
    monkeypatch.delenv("COURSE_ARTIFACTS", raising=False)
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert progress.progress_path() == env.artifacts_root() / "smoke" / "progress.jsonl"  # never a learner's
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert progress.progress_path() == env.artifacts_root() / "progress.jsonl"
    monkeypatch.setenv(progress.ENV, str(tmp_path / "mine.jsonl"))
    assert progress.progress_path() == tmp_path / "mine.jsonl"


def test_an_unwritable_record_costs_a_note_not_the_check(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv(progress.ENV, str(blocker / "progress.jsonl"))  # its folder is a file
    assert check_toy(42)
    assert "progress not saved" in capsys.readouterr().out


def test_a_broken_line_is_named_with_its_file_and_number(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text(json.dumps(_rec("01.1", True)) + "\n\n{oops\n", encoding="utf-8")
    with pytest.raises(progress.ProgressError, match=r"progress.jsonl, line 3: not JSON.*fix or delete"):
        progress.load(path)
    _write(path, [_rec("01.1", True), {**_rec("01.1", True), "by": "teacher"}])
    with pytest.raises(progress.ProgressError, match="line 2: by is 'teacher'"):
        progress.load(path)
    _write(path, [{"id": "01.1"}])
    with pytest.raises(progress.ProgressError, match="line 1: missing title, passed, time, by"):
        progress.load(path)
    assert progress.load(tmp_path / "none.jsonl") == []
    with pytest.raises(progress.ProgressError, match="does not exist"):
        progress.load(tmp_path / "none.jsonl", must_exist=True)


# ---- reading it: standings, the table, the next exercise


def test_only_the_learners_pass_counts():
    p = progress.standings([_rec("01.1", True, by="solution"), _rec("01.2", False),
                            _rec("01.2", True, time="2026-01-02T11:00:00+00:00"), _rec("07.7", True)], TOY)
    assert [s.status for s in p.standings] == ["solution", "passed", "not yet"]
    assert (p.passed, p.next.id, p.ignored) == (1, "01.1", ["07.7"])
    assert p.standings[1].as_dict() | {"title": "t"} == {
        "id": "01.2", "title": "t", "notebook": "01", "status": "passed", "passed": True, "tries": 2,
        "first_passed": "2026-01-02T11:00:00+00:00", "last_try": "2026-01-02T11:00:00+00:00", "solution_runs": 0}
    failed = progress.standings([_rec("01.1", False)], TOY)
    assert failed.standings[0].status == "tried" and failed.next.id == "01.1"
    done = progress.standings([_rec(e.id, True) for e in TOY], TOY)
    assert done.next is None and "Every exercise is done." in progress.report(done)


def test_the_report_has_a_block_per_notebook_the_total_and_the_next_one():
    text = progress.report(progress.standings([_rec("01.2", True), _rec("01.1", True, by="solution")], TOY))
    assert "1/2 passed" in text and "0/1 passed" in text
    assert re.search(r"📖 01\.1 +First +only the solution cell ran", text)
    assert re.search(r"✅ 01\.2 +Second +passed \(1 try\)", text)
    assert "Course: 1/3 exercises passed. Next: 01.1 First" in text


def test_show_prints_one_notebook(record_file, capsys):
    _write(record_file, [_rec("06.1", True)])
    progress.show("06")
    out = capsys.readouterr().out
    assert "06_fine_tuning.ipynb: 1/2 passed" in out and "05." not in out
    assert f"Course: 1/{len(EXERCISES)} exercises passed. Next: 01.1 " in out and str(record_file) in out
    progress.show(6)
    assert "06_fine_tuning.ipynb: 1/2 passed" in capsys.readouterr().out
    with pytest.raises(progress.ProgressError, match="No exercises for notebook '42'"):
        progress.show("42")


def test_the_command_prints_the_table_and_json(record_file, capsys):
    _write(record_file, [_rec("01.1", True), _rec("01.2", False)])
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    assert f"Course: 1/{len(EXERCISES)} exercises passed. Next: 01.2 " in out
    assert all(f"{nb.name}:" in out for nb in nbtools.notebooks())
    assert main(["progress", "--json", str(record_file)]) == 0
    [graded] = json.loads(capsys.readouterr().out)
    assert (graded["student"], graded["passed"], graded["total"], graded["next"]) == (
        record_file.parent.name, 1, len(EXERCISES), "01.2")
    assert [e["id"] for e in graded["exercises"]] == [e.id for e in EXERCISES]


def test_the_command_reads_a_class_of_files(tmp_path, capsys):
    alice = _write(tmp_path / "alice.jsonl", [_rec("01.1", True)])
    (tmp_path / "bob").mkdir()
    bob = _write(tmp_path / "bob" / "progress.jsonl", [])
    assert main(["progress", str(alice), str(bob)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"alice +1/{len(EXERCISES)} +next: 01\.2", out) and re.search(r"bob +0/\d+ +next: 01\.1", out)
    assert main(["progress", str(tmp_path / "carol.jsonl")]) == 2
    assert "error: " in capsys.readouterr().err
    _write(tmp_path / "a,b.jsonl", [])
    with pytest.raises(progress.ProgressError, match="name the file after the student"):
        progress.student_id(tmp_path / "a,b.jsonl")


# ---- nbgrader's export, checked against nbgrader itself


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own session use
def test_the_nbgrader_csv_is_what_nbgrader_exports(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    # a new gradebook asks the `alembic` script (installed beside this Python) for its schema version
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    files = {"alice": _write(tmp_path / "alice.jsonl", [
                 _rec("01.1", False, time="2026-01-02T10:00:00+00:00"),
                 _rec("01.1", True, time="2026-01-02T10:05:00+00:00"),
                 _rec("02.1", True, by="solution"), _rec("06.2", True, time="2026-01-03T08:00:00+01:00")]),
             "bob": _write(tmp_path / "bob.jsonl", [_rec("01.2", False, time="2026-01-04T09:00:00+00:00")])}
    assert main(["progress", "--nbgrader", str(tmp_path / "ours.csv"), *map(str, files.values())]) == 0
    ours = (tmp_path / "ours.csv").read_text(encoding="utf-8")

    graded = {s: progress.standings(progress.load(f)) for s, f in files.items()}
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        numbers = sorted({ex.notebook for ex in EXERCISES})
        for number in numbers:
            gb.add_assignment(number)
            gb.add_notebook(number, number)
            for ex in EXERCISES:
                if ex.notebook == number:
                    gb.add_grade_cell(ex.id, number, number, max_score=1, cell_type="code")
        for student in sorted(files):
            gb.add_student(student)
        for number in numbers:
            for student, p in sorted(graded.items()):
                mine = p.notebook(number)
                tries = [s.last for s in mine if s.last]
                if not tries:
                    continue  # no submission
                gb.add_submission(number, student, timestamp=max(tries))
                for s in mine:
                    gb.find_grade(s.exercise.id, number, number, student).auto_score = float(s.status == "passed")
                gb.db.commit()
        CsvExportPlugin(to=str(tmp_path / "nbgrader.csv")).export(gb)
    theirs = (tmp_path / "nbgrader.csv").read_text(encoding="utf-8")
    assert ours == theirs
    rows = list(csv.DictReader(io.StringIO(ours)))

    def n(number):  # max_score: the notebook's number of exercises
        return f"{float(sum(ex.notebook == number for ex in EXERCISES))}"

    assert {(r["assignment"], r["student_id"]): (r["score"], r["max_score"], r["timestamp"]) for r in rows
            if r["timestamp"]} == {("01", "alice"): ("1.0", n("01"), "2026-01-02 10:05:00"),
                                   ("06", "alice"): ("1.0", n("06"), "2026-01-03 07:00:00"),
                                   ("01", "bob"): ("0.0", n("01"), "2026-01-04 09:00:00")}

"""Student copies (course.student), the site without solutions, and the checks inside a real kernel.

The last test runs every student copy once, in the smoke profile: it must run top to bottom
with every check saying "not attempted" and nothing recorded, so no later cell depends on a
name that only a solution cell defined.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from course import meta, nbtools, site, student
from course.exercises import all_exercises
from course.runner import execute

NOTEBOOKS = nbtools.notebooks()
EXERCISES = all_exercises()
OUT = nbtools.ROOT / "build" / "test-student"  # not build/student: a teacher's copies stay untouched


@pytest.fixture(scope="module")
def built():
    """Student copies in OUT/student/, full ones in OUT/solutions/."""
    students, solutions = student.build(OUT)
    assert [p.name for p in students] == [p.name for p in solutions] == [p.name for p in NOTEBOOKS]
    return OUT


def _read(path):
    return nbformat.read(path, as_version=4)


def _checks_called(nb) -> list[str]:
    return re.findall(r"\bex\.(check_\w+)\(", "\n".join(c.source for c in nb.cells if c.cell_type == "code"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_survives_and_everything_else_does(path, built):
    full, copy = _read(path), _read(built / "student" / path.name)
    assert student.solution_cells(full), f"{path.name} has no solution to remove"
    assert not student.solution_cells(copy)
    assert not any(c.source.startswith(nbtools.SOLUTION_TITLE) or re.match(r"#+\s*Solution", c.source)
                   for c in copy.cells)
    assert not any("assert ex.check" in c.source for c in copy.cells)
    drop = set(student.solution_cells(full))
    kept = [c.source for i, c in enumerate(full.cells) if i not in drop]
    assert [c.source for c in copy.cells[1:]] == kept[1:]  # every other cell, in order: exercises, checks, prose
    mine = [ex for ex in EXERCISES if ex.notebook == path.name[:2]]
    assert {ex.check.rsplit(".", 1)[1] for ex in mine} == set(_checks_called(copy))  # every exercise's check call
    assert nbtools.has_ending(copy)


def test_student_copies_are_clean_and_carry_no_colab_badge(built):
    for path in NOTEBOOKS:
        copy = _read(built / "student" / path.name)
        assert nbtools.dirty_reasons(built / "student" / path.name) == []
        assert "colab.research.google.com" not in copy.cells[0].source  # the badge opens the full notebook
        assert copy.cells[0].source.startswith("# ") and "\n\n\n" not in copy.cells[0].source
        assert (built / "solutions" / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_the_command_writes_both_folders(tmp_path, capsys):
    from course.__main__ import main

    assert main(["student", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "student").iterdir()) == [p.name for p in NOTEBOOKS]
    assert sorted(p.name for p in (tmp_path / "solutions").iterdir()) == [p.name for p in NOTEBOOKS]
    assert f"{len(NOTEBOOKS)} student copies" in capsys.readouterr().out


def test_the_site_can_leave_the_solutions_out():
    last = NOTEBOOKS[-1]
    nb = _read(last)
    with_solutions, without = site.site_notebook(nb), site.site_notebook(nb, solutions=False)
    assert any("hide-cell" in c.metadata.get("tags", []) for c in with_solutions.cells)
    assert not student.solution_cells(without) and len(without.cells) == len(nb.cells) - len(student.solution_cells(nb))
    progress = next(c for c in without.cells if nbtools.PROGRESS_CALL in c.source)
    assert "remove-cell" in progress.metadata["tags"]  # a reader's record is not on the site
    assert "](index.md)" in without.cells[-1].source and meta.github_url() not in without.cells[-1].source
    executed = {p.name: _read(p) for p in NOTEBOOKS}
    assert "Solutions are collapsed" in site.landing_page(executed)
    assert "leaves the exercises' solutions out" in site.landing_page(executed, solutions=False)


def test_in_a_kernel_a_check_shows_one_line_and_knows_a_solution_cell(tmp_path, monkeypatch):
    record = tmp_path / "progress.jsonl"
    monkeypatch.setenv("COURSE_PROGRESS", str(record))
    path = tmp_path / "04_toy.ipynb"
    nbtools.write(path, [
        nbtools.code("from course.exercises import sbert as ex\nanswer = ...\nex.check_pair_count(answer)"),
        nbtools.code("ex.check_pair_count(3)"),
        nbtools.md("### Solution"),
        nbtools.code("assert ex.check_pair_count(49_995_000)\nex.check_pair_count(49_995_000)")])
    result = execute(path, "smoke", tmp_path / "out")
    assert result.ok, result.error
    cells = [c for c in _read(tmp_path / "out" / path.name).cells if c.cell_type == "code"]
    for cell in cells:  # the feedback line, and no `False`/`True` under it
        assert [o["output_type"] for o in cell.outputs] == ["stream"], cell.outputs
    assert cells[0].outputs[0]["text"].startswith("✏️  04.1 Count the cross-encoder's pairs: Not attempted yet")
    assert cells[1].outputs[0]["text"].startswith("❌ 04.1 ")
    by = [(r["by"], r["passed"]) for r in map(json.loads, record.read_text(encoding="utf-8").splitlines())]
    assert by == [("learner", False), ("solution", True), ("solution", True)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_copy_runs_with_every_check_not_attempted(path, built, tmp_path, monkeypatch):
    record = tmp_path / "progress.jsonl"
    monkeypatch.setenv("COURSE_PROGRESS", str(record))
    result = execute(built / "student" / path.name, "smoke", tmp_path)
    assert result.ok, f"the student copy of {path.name} fails without its solutions: {result.error}"
    cells = [c for c in _read(tmp_path / path.name).cells if c.cell_type == "code"]
    mine = [ex for ex in EXERCISES if ex.notebook == path.name[:2]]
    for ex in mine:
        name = ex.check.rsplit(".", 1)[1]
        cell = next(c for c in cells if f"ex.{name}(" in c.source)
        text = "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")
        assert f"✏️  {ex.id} {ex.title}: Not attempted yet" in text, (ex.id, text)
        assert "execute_result" not in [o["output_type"] for o in cell.outputs], f"{ex.id} shows its return value"
    printed = "".join(o.get("text", "") for c in cells for o in c.outputs)
    assert not re.search(r"^(✅|❌) \d\d\.\d", printed, re.M)
    assert not record.exists()  # nothing attempted, nothing recorded
    assert f"{path.name}: 0/{len(mine)} passed" in "".join(o.get("text", "") for o in cells[-1].outputs)

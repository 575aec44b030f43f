"""Timings for instructors: per-section run times from executed copies, and the minutes rule
that the notebooks' first cells (and so the README's course map) follow."""

import json
import os
import subprocess
import sys

import nbformat
import pytest

from course import nbtools, timings
from course.env import CourseError

# Notebooks whose first cell predates the minutes rule (issue 22). Notebooks 04-09 are being
# rewritten and 01-03 edited in parallel, so the lead applies the rule after merging them:
#   python -m course run --profile cpu && python -m course timings --minutes --write
# and then empties this set. Until then their test is expected to fail (strict: it fails as
# soon as a listed notebook does follow the rule, so the set cannot go stale).


def _cell(source, start, seconds, outputs=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["execution"] = {
        "iopub.status.busy": f"2026-12-02T18:00:{start:06.3f}Z",
        "iopub.execute_input": f"2026-12-02T18:00:{start + 0.001:06.3f}Z",
        "shell.execute_reply": f"2026-12-02T18:00:{start + seconds - 0.01:06.3f}Z",
        "iopub.status.idle": f"2026-12-02T18:00:{start + seconds:06.3f}Z",
    }
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in outputs]
    return cell


def _executed(path, profile="cpu"):
    md = nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(cells=[
        md("# 09 · A test notebook\n\n*About 5 minutes.*"),
        _cell("# Setup: nothing\nprint(banner)", 0, 2.0, [f"course | profile={profile} | device=cpu\n"]),
        md("## 1. Load\n\nWhy we load."),
        _cell("#@title Solution\n\nmodel = load()", 2, 5.5),
        _cell("x = 1", 8, 0.25),
        md("### A sub-heading stays in its section"),
        _cell("train()", 9, 40.0),
        md("## Exercise 1: your turn"),
        _cell("answer = ...", 50, 0.5),
        md("## Recap"),
    ])
    nbformat.write(nb, path)
    return path


def test_cell_seconds_reads_nbclients_record():
    assert timings.cell_seconds(_cell("x", 1.5, 2.25)) == pytest.approx(2.25)
    assert timings.cell_seconds(nbformat.v4.new_code_cell("never ran")) is None


def test_read_groups_cells_by_section_with_the_slowest(tmp_path):
    times = timings.read(_executed(tmp_path / "09_test.ipynb"))
    assert times.profile == "cpu" and times.executed == "2026-12-02 18:00"
    assert [(s.title, s.seconds) for s in times.sections] == [
        ("(title and setup)", 2.0), ("1. Load", 45.8), ("Exercise 1: your turn", 0.5)]
    load = times.sections[1]
    assert load.slowest.index == 6 and load.slowest.first_line == "train()"
    assert [c.first_line for c in load.cells] == ["model = load()", "x = 1", "train()"]  # `#@title` skipped
    assert times.seconds == pytest.approx(48.3)
    assert [c.seconds for c in times.over(5)] == [40.0, 5.5]
    text = timings.report(times)
    assert "1. Load" in text and "45.8 s" in text and "slowest [None] 40.0 s: train()" in text


def test_read_refuses_a_notebook_that_never_ran(tmp_path):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    with pytest.raises(CourseError, match=r"not an executed copy; run `python -m course run 01`"):
        timings.read(path)


def _lesson(minutes=10, run_s=None):
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        md(f"# 09 · Title\n\n*About {minutes} minutes.* **What you'll learn:**\n\n- one thing"),
        md(" ".join(["word"] * 226) + " [a link](https://example.org/a-very-long-address) ---"),
        code("\n".join(f"x{i} = {i}" for i in range(20)) + "\n\n"),  # 20 lines, blank ones not counted
        md("## Exercise 1: try it"),
        code("answer = ...\ncheck(answer)"),
        md("### Solution"),
        code("answer = 42\n" * 30),  # collapsed: a learner does not read it
    ])
    if run_s is not None:
        nb.metadata["course"] = {"cpu_run_s": run_s}
    return nb


def test_the_minutes_rule_counts_words_code_exercises_and_the_run():
    # words: 10 (first cell) + 226 + 2 (a link counts by its text) + 4 (heading) + 1 (Solution) = 243
    # 243/120 + 22 lines/10 + 1 * 5 + 150 s/60 = 2.0 + 2.2 + 5 + 2.5 = 11.7 -> 10 (rounded to 5)
    m = timings.minutes(_lesson(10, run_s=150))
    assert (m.words, m.code_lines, m.exercises, m.run_s) == (243, 22, 1, 150)
    assert m.minutes == 10 and m.stated == 10 and m.agrees
    assert timings.minutes(_lesson(10), run_s=600).minutes == 20  # the run time counts in full
    assert timings.minutes(_lesson(20, run_s=0)).agrees is False  # rule 10, stated 20
    assert timings.minutes(_lesson(15, run_s=0)).agrees  # within TOLERANCE


def test_write_minutes_updates_first_cell_metadata_and_course_map(tmp_path, monkeypatch):
    path = tmp_path / "09_test.ipynb"
    nbformat.write(_lesson(45), path)
    result = timings.write_minutes(path, run_s=1500.4)
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["course"] == {"cpu_run_s": 1500}
    assert result.minutes == 35 and "*About 35 minutes.*" in nb.cells[0].source  # 9.2 + 25
    assert nbtools.about(nb)[2] == "35 min"
    monkeypatch.setattr(nbtools, "notebooks", lambda: [path])
    assert "| 35 min |" in nbtools.course_map()


def test_minutes_table_writes_only_from_an_up_to_date_cpu_run(tmp_path, monkeypatch):
    notebooks, build = tmp_path / "notebooks", tmp_path / "build"
    notebooks.mkdir(), build.mkdir()
    fresh, old = notebooks / "08_a.ipynb", notebooks / "09_test.ipynb"
    nbformat.write(_lesson(45), fresh)
    nbformat.write(_lesson(45), old)
    os.utime(_executed(build / "09_test.ipynb"), (1, 1))  # a cpu run older than its notebook
    _executed(build / "08_a.ipynb", profile="cpu")
    monkeypatch.setattr(nbtools, "notebooks", lambda: [fresh, old])
    said = []
    rows = timings.minutes_table([], build, write=True, echo=said.append)
    assert [r.run_s for r in rows] == [48.0, None]
    assert nbformat.read(fresh, as_version=4).metadata["course"] == {"cpu_run_s": 48}
    assert "course" not in nbformat.read(old, as_version=4).metadata
    assert said == [f"09_test.ipynb: not written, {build} holds no cpu run of it newer than the notebook "
                    "(python -m course run --profile cpu 09)"]


def test_cli_prints_tables_and_json(tmp_path):
    _executed(tmp_path / "09_test.ipynb")
    run = [sys.executable, "-m", "course", "timings", "--dir", str(tmp_path)]
    out = subprocess.run([*run, "--over", "30"], capture_output=True, text=True, check=True).stdout
    assert "09_test.ipynb: 48 s in the cpu profile (5 code cells" in out and "cells over 30 s: [None] 40 s" in out
    data = json.loads(subprocess.run([*run, "--json"], capture_output=True, text=True, check=True).stdout)
    assert data[0]["sections"][1]["slowest"]["first_line"] == "train()"
    none = subprocess.run([*run, "07"], capture_output=True, text=True)
    assert none.returncode == 2 and "No executed copy matching 07" in none.stderr


@pytest.mark.parametrize("path", nbtools.notebooks(), ids=lambda p: p.name[:2])
def test_first_cell_minutes_follow_the_rule(path):
    """The README's minutes come from the rule, computed from the notebook file alone: the cpu
    run time it uses is the one recorded in the notebook's metadata with the minutes."""
    nb = nbformat.read(path, as_version=4)
    m = timings.minutes(nb, name=path.name)
    assert m.run_s is not None, (f"{path.name} has no cpu run time in its metadata: run it in the cpu profile and "
                                 f"`python -m course timings --minutes --write {path.name[:2]}`")
    assert m.agrees, (f"{path.name}'s first cell says {m.stated} minutes, the rule gives {m.minutes} "
                      f"({m}); update it with `python -m course timings --minutes --write {path.name[:2]}`")

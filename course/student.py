"""Student copies of the notebooks: every exercise and its check, no solutions.

`python -m course student` writes build/student/NN_*.ipynb, each notebook with its "Solution"
headings and the solution cells under them removed (not collapsed) and its outputs cleared, and
build/solutions/NN_*.ipynb, the full notebooks, outputs cleared, for the instructor. A student
copy has no Open-in-Colab badge (it would open the full notebook): hand the copies out as files
(an LMS, a shared drive, Colab's File -> Upload notebook).
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

import nbformat

from course.nbtools import _BADGE_RE, _SOLUTION_RE, ROOT, SOLUTION_TITLE, hidden_cells, notebooks, strip


def solution_cells(nb) -> list[int]:
    """Indexes of the solution cells: each "Solution" heading and the solution code cells under it."""
    code = {i for i, title in hidden_cells(nb) if title == SOLUTION_TITLE}
    headings = {i for i, cell in enumerate(nb.cells)
                if cell.cell_type == "markdown" and _SOLUTION_RE.search(cell.source) and i + 1 in code}
    return sorted(code | headings)


def without_solutions(nb):
    """A copy of the notebook (outputs kept) without its solution cells."""
    nb = copy.deepcopy(nb)
    drop = set(solution_cells(nb))
    nb.cells = [cell for i, cell in enumerate(nb.cells) if i not in drop]
    return nb


def student_notebook(nb):
    """The student copy: no solutions, no outputs, no Colab badge (it opens the full notebook)."""
    nb = without_solutions(nb)
    strip(nb)
    first = nb.cells[0]
    first.source = re.sub(r"\n{3,}", "\n\n", _BADGE_RE.sub("", first.source))
    return nb


def build(out: Path = ROOT / "build") -> tuple[list[Path], list[Path]]:
    """Write the student copies to out/student/ and the full notebooks to out/solutions/."""
    written: tuple[list[Path], list[Path]] = ([], [])
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        for folder, copy_, paths in (("student", student_notebook(nb), written[0]),
                                     ("solutions", _stripped(nb), written[1])):
            (out / folder).mkdir(parents=True, exist_ok=True)
            nbformat.write(copy_, out / folder / path.name)
            paths.append(out / folder / path.name)
    return written


def _stripped(nb):
    nb = copy.deepcopy(nb)
    strip(nb)
    return nb


def cli(argv: list[str]) -> int:
    """Write student copies (no solutions) to OUT/student/ and the full notebooks to OUT/solutions/."""
    ap = argparse.ArgumentParser(prog="python -m course student", description=cli.__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "build", help="default: build/")
    args = ap.parse_args(argv)
    students, solutions = build(args.out)
    removed = sum(len(solution_cells(nbformat.read(p, as_version=4))) for p in notebooks())
    print(f"{len(students)} student copies in {args.out / 'student'}/ ({removed} solution cells and "
          f"headings removed, outputs cleared); the full notebooks in {args.out / 'solutions'}/.\n"
          "Progress: each check records attempts in artifacts/progress.jsonl; "
          "`python -m course progress` reads it.")
    return 0

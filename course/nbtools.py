"""Notebook plumbing: build cells in the course's house style, strip outputs, sync links.

Used by the notebook authoring scripts and by tests; a learner never needs it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat

from course import meta
from course.env import CourseError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SETUP_MARK = "# Setup:"
_BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
# The course's own links and install lines (a ref may hold '/', a path component may not end it).
_COLAB_RE = re.compile(rf"(https://colab\.research\.google\.com/github/{re.escape(meta.REPO)}/blob/)"
                       r"[A-Za-z0-9._/-]+?/((?:notebooks/)?[^/\s)\]]+\.ipynb)")
_PIP_RE = re.compile(rf'%pip install -q "{re.escape(meta.PACKAGE)} @ git\+https://github\.com/'
                     rf'{re.escape(meta.REPO)}@[^"]*"')
_BRANCH_RE = re.compile(r'^BRANCH = "[^"\n]*"', re.M)


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str):
    return nbformat.v4.new_code_cell(text.strip("\n"))


def header(path: str, title: str, goals: list[str], minutes: int) -> list:
    """Title, learning goals, badge and time: the first cell of every notebook."""
    lines = [f"# {title}", "", meta.colab_badge(f"notebooks/{path}"), "",
             f"*About {minutes} minutes.* **What you'll learn:**", ""]
    lines += [f"- {g}" for g in goals]
    return [md("\n".join(lines))]


DRIVE_ARTIFACTS = "/content/drive/MyDrive/embedding-course/artifacts"


def setup_cell(ref: str | None = None) -> object:
    """The setup cell every notebook starts with: on Colab it installs the course package at
    `ref` (default meta.BRANCH) and, with the USE_DRIVE box ticked (a Colab form field), mounts
    Google Drive and keeps the artifacts there, so 05 -> 06 -> 07 share triplets and the tuned
    model across runtimes; elsewhere it only imports the course (the box does nothing)."""
    return code(f'''
{SETUP_MARK} on Colab this installs the course package; elsewhere it does nothing.
# On Colab, tick USE_DRIVE to keep triplets and models on Google Drive for the next notebooks.
USE_DRIVE = False  #@param {{type:"boolean"}}
import os
import sys
if "google.colab" in sys.modules:
    %pip install -q "{meta.pip_spec(ref)}"
    if USE_DRIVE:
        from google.colab import drive
        drive.mount("/content/drive")
        os.environ["COURSE_ARTIFACTS"] = "{DRIVE_ARTIFACTS}"
import course
P = course.profile()  # every size knob in this notebook comes from P
course.setup_plotting()
print(course.banner(P))
''')


def write(path: Path, cells: list, gpu: bool = False) -> None:
    """Write a stripped notebook with the course's kernelspec (and Colab GPU hint if asked)."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    if gpu:
        nb.metadata["accelerator"] = "GPU"
        nb.metadata["colab"] = {"gpuType": "T4", "provenance": []}
    strip(nb)
    nbformat.write(nb, path)


_SOLUTION_RE = re.compile(r"^#+\s*Solution", re.M | re.I)
SOLUTION_TITLE = "#@title Solution"
CHECK_TITLE = "#@title Course check (you can skip this cell)"


def hidden_cells(nb) -> list[tuple[int, str]]:
    """(index, title) of every code cell that is shown collapsed.

    Solution cells: the code cells after a markdown cell whose heading is "Solution", up to
    the next markdown cell. Check cells: code cells tagged `check` (asserts that guard the
    course, which a learner need not read).
    """
    out, in_solution = [], False
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            in_solution = bool(_SOLUTION_RE.search(cell.source))
        elif "check" in cell.get("metadata", {}).get("tags", []):
            out.append((i, CHECK_TITLE))
        elif in_solution:
            out.append((i, SOLUTION_TITLE))
    return out


def is_collapsed(cell) -> bool:
    """Collapsed in JupyterLab (source_hidden) and in Colab (form view with a #@title line)."""
    md = cell.get("metadata", {})
    return (md.get("jupyter", {}).get("source_hidden") is True and md.get("cellView") == "form"
            and cell.source.startswith("#@title "))


def collapse(nb) -> bool:
    """Collapse every solution and check cell (JupyterLab and Colab); True if anything changed."""
    changed = False
    for i, title in hidden_cells(nb):
        cell = nb.cells[i]
        if is_collapsed(cell):
            continue
        if not cell.source.startswith("#@title "):
            cell.source = title + "\n" + cell.source
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
        cell.metadata["cellView"] = "form"
        changed = True
    return changed


def strip(nb) -> bool:
    """Remove outputs, execution counts and per-user metadata, collapse solutions; True if anything changed."""
    changed = collapse(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            cell.outputs, cell.execution_count = [], None
            changed = True
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime", "colab", "outputId", "id"):
            if key in cell.get("metadata", {}):
                del cell.metadata[key]
                changed = True
    for key in ("widgets", "vscode"):
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    return changed


def dirty_reasons(path: Path) -> list[str]:
    """Why a committed notebook is not clean (empty list if it is)."""
    nb = nbformat.read(path, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.get("outputs"):
            out.append(f"cell {i} has outputs")
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            out.append(f"cell {i} has an execution count")
    if "widgets" in nb.metadata:
        out.append("notebook metadata holds widget state")
    out += [f"cell {i} (solution or check) is not collapsed" for i, _ in hidden_cells(nb)
            if not is_collapsed(nb.cells[i])]
    return out


def pin(text: str, ref: str) -> str:
    """`text` with every course Colab link and course install line pointed at `ref`."""
    text = _COLAB_RE.sub(lambda m: m.group(1) + ref + "/" + m.group(2), text)
    return _PIP_RE.sub(lambda _: f'%pip install -q "{meta.pip_spec(ref)}"', text)


def sync_links(nb_path: Path, ref: str | None = None) -> bool:
    """Rewrite one notebook's Colab badge, setup cell (with its install line) and any other
    course link from course.meta at `ref` (default meta.BRANCH); True if the file changed."""
    ref = meta.check_ref(meta.BRANCH if ref is None else ref)
    nb = nbformat.read(nb_path, as_version=4)
    rel = f"notebooks/{nb_path.name}"
    setup = next((c for c in nb.cells if c.cell_type == "code" and c.source.startswith(SETUP_MARK)), None)
    changed = False
    for cell in nb.cells:
        new = setup_cell(ref).source if cell is setup else pin(cell.source, ref)
        new = _BADGE_RE.sub(lambda _: meta.colab_badge(rel, ref), new)
        if new != cell.source:
            cell.source, changed = new, True
    if changed:
        nbformat.write(nb, nb_path)
    return changed


def set_branch(ref: str, path: Path = Path(meta.__file__)) -> bool:
    """Make `ref` the BRANCH in course/meta.py (and in this process); True if the file changed.

    The ref lives in meta.py so that everything generated from it (badges, install lines, the
    website's links, the tests that compare them) agrees, also in the tagged release itself.
    """
    ref = meta.check_ref(ref)
    text = path.read_text(encoding="utf-8")
    if _BRANCH_RE.search(text) is None:
        raise CourseError(f'{path} has no line BRANCH = "..."; restore it from git (git checkout {path}).')
    new = _BRANCH_RE.sub(f'BRANCH = "{ref}"', text, count=1)
    meta.BRANCH = ref
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def known_ref(ref: str, repo: Path = ROOT) -> bool | None:
    """Whether `ref` names a commit (tag, branch) in the git clone at `repo`; None without git."""
    try:
        found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                               cwd=repo, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    inside = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=repo, capture_output=True, timeout=30)
    return found.returncode == 0 if inside.returncode == 0 else None


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


MAP_START, MAP_END = "<!-- course-map:start -->", "<!-- course-map:end -->"
MINUTES_RE = re.compile(r"\*About (\d+) minutes\.\*")  # the time a notebook's first cell states (course.timings)


def about(nb) -> tuple[str, list[str], str]:
    """Title (without its number), learning goals and time ("35 min" or "?") from a notebook's first cell."""
    first = nb.cells[0].source
    title = first.splitlines()[0].lstrip("# ").split("·", 1)[-1].strip()
    goals = [ln[2:] for ln in first.splitlines() if ln.startswith("- ")]
    minutes = MINUTES_RE.search(first)
    return title, goals, minutes.group(1) + " min" if minutes else "?"


def course_map(ref: str | None = None) -> str:
    """The README's course map, one row per notebook, generated from the notebooks' first cells."""
    rows = ["| # | notebook | first goal | time | open |", "|---|---|---|---|---|"]
    for path in notebooks():
        title, goals, time = about(nbformat.read(path, as_version=4))
        rows.append(f"| {path.name[:2]} | [{title}](notebooks/{path.name}) | {(goals or [''])[0]} | {time} | "
                    f"{meta.colab_badge(f'notebooks/{path.name}', ref)} |")
    return "\n".join(rows)


def sync_readme(readme: Path = ROOT / "README.md", ref: str | None = None) -> bool:
    """Regenerate the course map between the README's markers and point every other course Colab
    link or install line in it at `ref` (default meta.BRANCH); True if it changed."""
    ref = meta.check_ref(meta.BRANCH if ref is None else ref)
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(MAP_START) + len(MAP_START), text.index(MAP_END)
    new = pin(text[:start], ref) + "\n" + course_map(ref) + "\n" + pin(text[end:], ref)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


_WARNING_RE = re.compile(
    r"^(?P<file>\S.*?):(?P<line>\d+): (?P<cat>\w*(?:DeprecationWarning|FutureWarning)): (?P<msg>.*)$", re.M)


def own_warnings(outputs: list[dict]) -> list[str]:
    """Deprecation/Future warnings in a cell's outputs that point at course or notebook code.

    Python reports a warning at the line that triggered it (the library's stacklevel), so the
    file tells whose call is out of date: a cell (`/tmp/ipykernel_*/...py`) or `course/`.
    Warnings a library raises inside itself are the library's business and are not listed.
    """
    course_dir = str(ROOT / "course") + "/"
    found = []
    for out in outputs:
        if out.get("output_type") != "stream" or out.get("name") != "stderr":
            continue
        for m in _WARNING_RE.finditer(out.get("text", "")):
            path = m.group("file")
            if path.startswith(course_dir) or "ipykernel_" in path or path.startswith("<ipython-input"):
                found.append(f"{m.group('cat')} at {path}:{m.group('line')}: {m.group('msg')}")
    return found


PROGRESS_CALL = "course.progress.show("
NEXT_MARK = "**Next:**"
LAST_WORDS = (f"{NEXT_MARK} this was the last notebook. Back to the [course map]({meta.github_url()}#course-map) "
              "to revisit a topic, or read on: the [Sentence Transformers documentation](https://sbert.net) "
              "(a training example for every loss) and the [MTEB leaderboard]"
              "(https://huggingface.co/spaces/mteb/leaderboard) (models compared task by task).")


def ending(path: Path) -> list:
    """The last two cells of every notebook: the learner's progress in it, and a link to the next one."""
    progress = code(f"import course.progress  # your exercises here; `python -m course progress` lists all\n"
                    f'course.progress.show("{path.name[:2]}")')
    later = [p for p in notebooks() if p.name > path.name]
    if not later:
        return [progress, md(LAST_WORDS)]
    title = about(nbformat.read(later[0], as_version=4))[0]
    return [progress, md(f"{NEXT_MARK} [{later[0].name[:2]} · {title}]({later[0].name})")]


def has_ending(nb) -> bool:
    """True if the notebook's last two cells are a progress cell and a "Next:" cell."""
    return (len(nb.cells) >= 2 and PROGRESS_CALL in nb.cells[-2].source
            and nb.cells[-1].cell_type == "markdown" and nb.cells[-1].source.startswith(NEXT_MARK))


def sync_ending(path: Path) -> bool:
    """Append (or refresh) the notebook's ending cells; True if the notebook changed."""
    nb = nbformat.read(path, as_version=4)
    new = ending(path)
    if has_ending(nb):
        if [c.source for c in nb.cells[-2:]] == [c.source for c in new]:
            return False
        nb.cells = nb.cells[:-2]
    nb.cells += new
    nbformat.write(nb, path)
    return True

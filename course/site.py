"""The course as a website that reads offline: executed notebooks -> a static Sphinx site.

`python -m course site` (and `make site`) runs the notebooks that have no up-to-date executed
copy in build/ (course.runner), then builds build/site/ with Sphinx + myst-nb +
sphinx-book-theme, configured in site/conf.py: a landing page with the course map, a page per
notebook with its outputs, a sidebar, previous/next links and search. Every asset is local
(MathJax, plotly.js, the Colab badge), so no page asks the network for anything.
tests/test_site.py checks the pages in a real browser. `--no-solutions` builds the same site
without the solution cells (build/site-student/), for a class that should try first.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from course import meta
from course.nbtools import CHECK_TITLE, PROGRESS_CALL, ROOT, about, hidden_cells, notebooks
from course.student import without_solutions

SITE_CONF = ROOT / "site"  # conf.py and the static files of the site
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
BADGE = "colab-badge.svg"
_REMOTE_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
_PROGRESS_RE = re.compile(r"\d+%\|")  # tqdm's text form of a progress bar
_PROFILE_RE = re.compile(r"course \| profile=(\w+)")
WIDGET_NOTE = ('<p class="course-widget-note">An interactive widget goes here: it needs a running '
               'notebook. Open this notebook in Jupyter (<code>make lab</code>) or in Colab to use it.</p>')


def stale(executed_dir: Path) -> list[Path]:
    """Notebooks whose executed copy in executed_dir is missing or older than the notebook."""
    return [p for p in notebooks()
            if not (executed_dir / p.name).exists() or (executed_dir / p.name).stat().st_mtime < p.stat().st_mtime]


def _is_check(cell) -> bool:
    return "check" in cell.get("metadata", {}).get("tags", [])


def figure_count(nb) -> int:
    """Plotly figures a reader sees: those in every cell but the course checks."""
    return sum(PLOTLY_MIME in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               and not _is_check(cell) for out in cell.outputs)


def _figure(data: dict) -> dict:
    """A plotly output re-emitted as a div and a call to the page's local plotly.js (no CDN, no MathJax)."""
    import plotly.io as pio

    fig = data[PLOTLY_MIME]
    height = fig.get("layout", {}).get("height") or 450
    div = pio.to_html(fig, config=fig.get("config"), include_plotlyjs=False, full_html=False,
                      auto_play=False, default_height=f"{height}px", validate=False)
    return nbformat.v4.new_output("display_data", data={"text/html": div})


def site_output(out: dict) -> dict | None:
    """One output as the site shows it; None drops it (progress bars, the inline plotly.js bundle)."""
    data = out.get("data", {})
    if PLOTLY_MIME in data:
        return _figure(data)
    if WIDGET_MIME in data:
        progress = _PROGRESS_RE.search(str(data.get("text/plain", "")))
        return None if progress else nbformat.v4.new_output("display_data", data={"text/html": WIDGET_NOTE})
    if list(data) == ["text/html"] and "window.PlotlyConfig" in data["text/html"]:
        return None
    return out


def site_notebook(nb, solutions: bool = True):
    """A copy of an executed notebook ready for the site: solutions collapsed behind a toggle (or
    left out), course checks and the progress cell (a reader's record is not on the site) removed,
    figures on the local plotly.js, widgets replaced by a note, the course map link to the index."""
    nb = copy.deepcopy(nb) if solutions else without_solutions(nb)
    nb.metadata.pop("widgets", None)
    solutions = {i for i, title in hidden_cells(nb) if title != CHECK_TITLE}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(f"]({_REMOTE_BADGE})", f"]({BADGE})")
            cell.source = cell.source.replace(f"]({meta.github_url()}#course-map)", "](index.md)")
            continue
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.setdefault("tags", [])
        if _is_check(cell) or PROGRESS_CALL in cell.source:
            tags.append("remove-cell")
        elif i in solutions:
            tags.append("hide-cell")
            cell.metadata["mystnb"] = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}
        cell.outputs = [o for o in map(site_output, cell.outputs) if o is not None]
    return nb


def _profiles(executed: dict[str, object]) -> str:
    """Which profile each notebook ran in, from the banner its setup cell printed."""
    found: dict[str, list[str]] = {}
    for name, nb in executed.items():
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        m = _PROFILE_RE.search(text)
        found.setdefault(m.group(1) if m else "unknown", []).append(name[:2])
    if len(found) == 1:
        return f"the **{next(iter(found))}** profile"
    return " and ".join(f"the **{p}** profile ({', '.join(nums)})" for p, nums in found.items()) + " profiles"


def landing_page(executed: dict[str, object], solutions: bool = True) -> str:
    """The site's index: what the course is, the course map (goals, time, Colab link) and the toctree."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("\n\n")
    lines = [readme[0], "", readme[1], "", "## Course map", ""]
    for name, nb in executed.items():
        title, goals, minutes = about(nb)
        lines += [f"### {name[:2]} · [{title}]({name})", "",
                  f"*About {minutes}.* [![Open in Colab]({BADGE})]({meta.colab_url(f'notebooks/{name}')})", ""]
        lines += [f"- {goal}" for goal in goals] + [""]
    lines += ["## Reading these pages", "",
              f"Each page shows a notebook with the outputs of a run in {_profiles(executed)} "
              "(its first output line says which). "
              + ("Solutions are collapsed: open them after trying the exercise. " if solutions else
                 "This edition leaves the exercises' solutions out. ")
              + "Figures are interactive; widgets need a running notebook (`make lab`, or Colab).",
              "", "```{toctree}", ":hidden:", ":maxdepth: 1", ""]
    lines += [Path(name).stem for name in executed] + ["```", ""]
    return "\n".join(lines)


def _refuse_errors(path: Path, nb) -> None:
    """A page must not show a traceback: stop at an executed copy that ended in an error."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise SystemExit(f"{path} stopped with {out.get('ename')} in cell {i}: fix the notebook, "
                                 f"then run `python -m course run {path.name[:2]}` before building the site.")


def prepare(executed_dir: Path, src: Path, solutions: bool = True) -> dict[str, object]:
    """Write the site's sources (index.md and one notebook per page) to src; return the executed notebooks."""
    executed = {}
    for path in notebooks():
        done = executed_dir / path.name
        if not done.exists():
            raise SystemExit(f"{done} is missing: run `python -m course run {path.name[:2]}` "
                             "(or `python -m course site`, which runs it) first.")
        executed[path.name] = nbformat.read(done, as_version=4)
        _refuse_errors(done, executed[path.name])
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name, nb in executed.items():
        nbformat.write(site_notebook(nb, solutions), src / name)
    (src / "index.md").write_text(landing_page(executed, solutions), encoding="utf-8")
    shutil.copy2(SITE_CONF / "_static" / BADGE, src / BADGE)
    return executed


def build(executed_dir: Path, out: Path, solutions: bool = True) -> Path:
    """Build the site from the executed notebooks in executed_dir into out; return its index.html."""
    src = out.parent / f"{out.name}-src"
    prepare(executed_dir, src, solutions)
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
           "-c", str(SITE_CONF), "-d", str(src / ".doctrees"), str(src), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"Sphinx could not build the site (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return out / "index.html"


def size_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def cli(argv: list[str]) -> int:
    """Build the course website from the executed notebooks (running those that are missing or stale)."""
    from course.env import profile_name
    from course.runner import run_all

    ap = argparse.ArgumentParser(prog="python -m course site", description=cli.__doc__)
    ap.add_argument("--executed", default=str(ROOT / "build"), help="folder of executed notebooks")
    ap.add_argument("--out", default=None, help="default: build/site (build/site-student with --no-solutions)")
    ap.add_argument("--no-solutions", action="store_true", help="leave the solution cells out (a student edition)")
    ap.add_argument("--profile", choices=["smoke", "cpu", "gpu"], default=None,
                    help="profile for notebooks that must run first (default: as `python -m course run`)")
    args = ap.parse_args(argv)
    out = Path(args.out or ROOT / "build" / ("site-student" if args.no_solutions else "site"))
    executed, t0 = Path(args.executed), time.perf_counter()
    todo = stale(executed)
    if todo:
        print(f"{len(todo)} notebook(s) have no up-to-date executed copy in {executed}/: running them first")
        if not all(r.ok for r in run_all(args.profile or profile_name(), [p.name for p in todo], out_dir=executed)):
            return 1
    index = build(executed, out, solutions=not args.no_solutions)
    pages = len(notebooks()) + 1
    print(f"site: {pages} pages, {size_mb(out)} MB, built in {time.perf_counter() - t0:.0f} s.\n"
          f"Open {index} in a browser, or serve it: python -m http.server -d {out} (then http://localhost:8000)")
    return 0


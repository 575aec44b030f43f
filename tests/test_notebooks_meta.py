"""Every committed notebook: stripped, and built to the course's shape (GUIDE.md)."""

import re

import nbformat
import pytest

from course import meta, nbtools

NOTEBOOKS = nbtools.notebooks()


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name.startswith("01_")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_stripped(path):
    assert nbtools.dirty_reasons(path) == [], f"run `python -m course strip {path}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_shape(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    assert first.startswith("# ") and "What you'll learn" in first
    assert meta.colab_badge(f"notebooks/{path.name}") in first, "run `python -m course sync-links`"
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert setup.source.startswith(nbtools.SETUP_MARK)
    assert f'%pip install -q "{meta.pip_spec()}"' in setup.source
    assert "P = course.profile()" in setup.source
    sources = [c.source for c in nb.cells]
    assert any("answer = ..." in s for s in sources), "no exercise cell"
    assert any("assert ex.check" in s for s in sources), "no solution that passes the self-check"
    assert any(s.startswith("## Recap") for s in sources)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_stay_short(path):
    nb = nbformat.read(path, as_version=4)
    long = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and len(c.source.splitlines()) > 15]
    assert not long, f"cells {long} are long: move the logic into a course function"


def test_strip_removes_outputs_and_counts(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells[0].execution_count = 1
    nb.metadata["widgets"] = {"state": {}}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert len(nbtools.dirty_reasons(path)) == 3
    assert nbtools.strip(nb) and not nbtools.strip(nb)
    nbformat.write(nb, path)
    assert nbtools.dirty_reasons(path) == []


def test_readme_links_come_from_meta():
    readme = (nbtools.ROOT / "README.md").read_text()
    assert nbtools.course_map() in readme, "the course map is stale: run `python -m course sync-links`"
    for path in NOTEBOOKS:
        assert meta.colab_url(f"notebooks/{path.name}") in readme, f"README lacks the badge of {path.name}"
    assert "colab.research.google.com/github/" not in readme.replace(meta.colab_url(""), "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_and_checks_are_collapsed(path):
    nb = nbformat.read(path, as_version=4)
    hidden = nbtools.hidden_cells(nb)
    assert any(title == nbtools.SOLUTION_TITLE for _, title in hidden), "no code cell under a 'Solution' heading"
    open_cells = [i for i, _ in hidden if not nbtools.is_collapsed(nb.cells[i])]
    assert not open_cells, f"cells {open_cells} must be collapsed: run `python -m course strip {path}`"
    untagged = [i for i, c in enumerate(nb.cells) if c.source.startswith(nbtools.CHECK_TITLE)
                and "check" not in c.metadata.get("tags", [])]
    assert not untagged, f"cells {untagged} are titled as course checks but not tagged `check` (the site shows them)"


def test_collapse_marks_solutions_and_checks_for_jupyterlab_and_colab():
    nb = nbformat.v4.new_notebook(cells=[
        nbtools.md("## Exercise"), nbtools.code("answer = ..."),
        nbtools.md("### Solution"), nbtools.code("answer = 1"),
        nbtools.md("## Next"), nbtools.code("x = 2"), nbtools.code("assert x == 2"),
    ])
    nb.cells[6].metadata["tags"] = ["check"]
    assert [i for i, _ in nbtools.hidden_cells(nb)] == [3, 6]
    assert nbtools.collapse(nb) and not nbtools.collapse(nb)
    solution, check = nb.cells[3], nb.cells[6]
    assert solution.source == "#@title Solution\nanswer = 1"
    assert solution.metadata == {"jupyter": {"source_hidden": True}, "cellView": "form"}
    assert check.source.startswith("#@title ") and nbtools.is_collapsed(check)
    assert not nbtools.is_collapsed(nb.cells[1]) and not nbtools.is_collapsed(nb.cells[5])


def test_own_warnings_names_our_code_and_ignores_the_libraries():
    text = (
        "/tmp/ipykernel_12/3.py:2: DeprecationWarning: Importing from 'sentence_transformers.models' is deprecated\n"
        "  from sentence_transformers.models import Pooling\n"
        f"{nbtools.ROOT}/course/sbert.py:40: FutureWarning: `tokenize` is deprecated\n"
        "/x/site-packages/transformers/foo.py:9: FutureWarning: inside the library\n"
        "/tmp/ipykernel_12/3.py:5: UserWarning: not a deprecation\n"
    )
    found = nbtools.own_warnings([{"output_type": "stream", "name": "stderr", "text": text},
                                  {"output_type": "stream", "name": "stdout", "text": text}])
    assert len(found) == 2
    assert found[0].startswith("DeprecationWarning at /tmp/ipykernel_12/3.py:2")
    assert "course/sbert.py:40" in found[1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ends_with_its_progress_and_a_link_to_the_next_notebook(path):
    nb = nbformat.read(path, as_version=4)
    progress, last = nb.cells[-2:]
    assert progress.cell_type == "code" and f'course.progress.show("{path.name[:2]}")' in progress.source, (
        "run `python -m course sync-links`")
    want = [c.source for c in nbtools.ending(path)]
    assert [progress.source, last.source] == want, "run `python -m course sync-links`"
    links = [t for t in re.findall(r"\]\(([^)\s]+)\)", last.source) if not t.startswith("https://")]
    later = [p for p in NOTEBOOKS if p.name > path.name]
    assert links == ([later[0].name] if later else []), "the last cell links to the next notebook"
    assert all((path.parent / target).is_file() for target in links)
    if not later:
        assert f"({meta.github_url()}#course-map)" in last.source  # the last one leads back to the course map


def test_sync_ending_appends_once_and_refreshes(tmp_path, monkeypatch):
    monkeypatch.setattr(nbtools, "NOTEBOOKS", tmp_path)
    for name, title in (("01_a.ipynb", "Alpha"), ("02_b.ipynb", "Beta")):
        nbtools.write(tmp_path / name, [nbtools.md(f"# {name[:2]} · {title}\n\n- a goal"), nbtools.code("1")])
    first = tmp_path / "01_a.ipynb"
    assert nbtools.sync_ending(first) and not nbtools.sync_ending(first)
    nb = nbformat.read(first, as_version=4)
    assert len(nb.cells) == 4 and nb.cells[-1].source == "**Next:** [02 · Beta](02_b.ipynb)"
    nbtools.write(tmp_path / "02_b.ipynb", [nbtools.md("# 02 · Gamma"), nbtools.code("1")])  # renamed
    assert nbtools.sync_ending(first)
    nb = nbformat.read(first, as_version=4)
    assert len(nb.cells) == 4 and nb.cells[-1].source == "**Next:** [02 · Gamma](02_b.ipynb)"

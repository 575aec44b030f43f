"""Every committed notebook: stripped, and built to the course's shape (GUIDE.md)."""

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

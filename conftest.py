"""Test-wide settings: the smoke profile, never a network wait, and no warnings from our own calls.

It lives at the repository root so that its hooks see the notebook cells nbval collects under
notebooks/ as well as tests/ (a conftest.py inside tests/ only sees tests/). It also keeps what
each notebook cell printed, so the website test builds its pages from this run's outputs
instead of executing every notebook a second time.
"""

import os
import tempfile

import pytest

os.environ.setdefault("COURSE_PROFILE", "smoke")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Checks called by tests and by notebook cells under nbval record their attempts in a throwaway file.
os.environ.setdefault("COURSE_PROGRESS", os.path.join(tempfile.mkdtemp(prefix="course-test-"), "progress.jsonl"))
# nbval's kernels inherit this: deprecation and future warnings are shown, so the hook below sees them.
os.environ["PYTHONWARNINGS"] = "default::DeprecationWarning,default::FutureWarning"

_CELLS = pytest.StashKey[dict]()  # notebook path -> {code cell number: (passed, outputs)}


def pytest_collection_modifyitems(items):
    """Tests marked after_notebooks run last, when nbval has run every notebook."""
    items.sort(key=lambda item: item.get_closest_marker("after_notebooks") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Fail a notebook cell whose run shows a DeprecationWarning/FutureWarning raised from our code."""
    outcome = yield
    outputs = getattr(item, "test_outputs", None)
    if call.when != "call" or outputs is None:
        return
    from course.nbtools import own_warnings

    found = own_warnings(outputs)
    report = outcome.get_result()
    if found and report.passed:
        report.outcome = "failed"
        report.longrepr = ("This cell's run warns about our own code (CONTRIBUTING.md, rule 4); "
                           "use the library's current name:\n  " + "\n  ".join(found))
    cells = item.config.stash.setdefault(_CELLS, {}).setdefault(str(item.parent.path), {})
    cells[item.cell_num] = (report.passed, outputs)


@pytest.fixture(scope="session")
def executed_notebooks(request):
    """Every notebook executed in the smoke profile, in build/test-site/notebooks/.

    A notebook that nbval ran in this session is written from its outputs (all its cells must have
    passed). Otherwise its executed copy there is reused if newer than the notebook, or the
    notebook is executed now (e.g. for `pytest tests/test_site.py` alone).
    """
    import nbformat

    from course.nbtools import ROOT, notebooks
    from course.runner import execute
    from course.site import stale

    out = ROOT / "build" / "test-site" / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    captured = request.config.stash.get(_CELLS, {})
    for path in notebooks():
        if str(path) not in captured:
            continue
        cells, nb = captured[str(path)], nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if len(cells) < len(code) or not all(passed for passed, _ in cells.values()):
            pytest.fail(f"{path.name} did not pass under nbval in this run: fix the failures reported above first.")
        for number, cell in enumerate(code):
            cell.outputs = cells[number][1]
        nbformat.write(nb, out / path.name)
    for path in stale(out):
        result = execute(path, "smoke", out)
        if not result.ok:
            pytest.fail(f"{path.name} fails in the smoke profile ({result.error}); fix the notebook first.")
    return out

"""Test-wide settings: the smoke profile, never a network wait, and no warnings from our own calls.

It lives at the repository root so that its hooks see the notebook cells nbval collects under
notebooks/ as well as tests/ (a conftest.py inside tests/ only sees tests/).
"""

import os

import pytest

os.environ.setdefault("COURSE_PROFILE", "smoke")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# nbval's kernels inherit this: deprecation and future warnings are shown, so the hook below sees them.
os.environ["PYTHONWARNINGS"] = "default::DeprecationWarning,default::FutureWarning"


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

"""The course's main job: execute notebooks headless, keep the executed copies, report failures."""

import nbformat

from course import runner


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_execute_writes_the_executed_notebook_in_the_profile(tmp_path):
    src = _notebook(tmp_path / "ok.ipynb", "import os\nprint('profile', os.environ['COURSE_PROFILE'])")
    result = runner.execute(src, "smoke", tmp_path / "build", timeout=120)
    assert result.ok and result.error == "" and result.seconds > 0 and result.peak_rss_mb > 10
    executed = nbformat.read(tmp_path / "build" / "ok.ipynb", as_version=4)
    assert "profile smoke" in executed.cells[0].outputs[0]["text"]
    assert nbformat.read(src, as_version=4).cells[0].outputs == []  # the original is untouched


def test_execute_reports_the_failing_cell(tmp_path):
    src = _notebook(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('the learner made a typo')")
    result = runner.execute(src, "smoke", None, timeout=120)
    assert not result.ok
    assert "ValueError" in result.error and "typo" in result.error

"""The course's main job: execute notebooks headless, keep the executed copies, report failures."""

import io
import json
import re

import nbformat
import pytest

from course import runner
from course.env import CourseError


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


def test_kernels_are_encrypted_and_quiet(tmp_path, capfd):
    """`make course` prints only its own lines: no ipykernel "running over TCP without
    encryption" warning per notebook (each kernel gets CurveZMQ keys)."""
    src = _notebook(tmp_path / "quiet.ipynb", "print('hello')")
    result = runner.execute(src, "smoke", None, timeout=120)
    assert result.ok
    err = capfd.readouterr().err
    assert "without encryption" not in err and "WARNING" not in err, err


def test_run_all_prints_one_progress_line_per_notebook(tmp_path, monkeypatch):
    paths = [tmp_path / "01_a.ipynb", tmp_path / "02_b.ipynb"]
    monkeypatch.setattr(runner, "notebooks", lambda: paths)
    monkeypatch.setattr(runner, "execute", lambda path, profile, out_dir: runner.RunResult(
        path.name, path.name.startswith("01"), 1.25, 512.0, "" if path.name.startswith("01") else "KeyError: x"))
    out = io.StringIO()
    results = runner.run_all("smoke", out_dir=None, echo=lambda *a, **k: print(*a, **k, file=out))
    assert [r.ok for r in results] == [True, False]
    assert out.getvalue().splitlines() == [
        "[1/2] 01_a.ipynb (profile smoke) ... ok in 1.2 s, peak 512 MB",
        "[2/2] 02_b.ipynb (profile smoke) ... FAILED in 1.2 s, peak 512 MB KeyError: x",
    ]
    with pytest.raises(CourseError, match=r"No notebook matches \['zz'\]"):
        runner.run_all("smoke", ["zz"], out_dir=None)


# ---------------------------------------------------------------- reruns are identical

# Legitimately variable between two runs, masked before comparing: durations, memory sizes,
# progress-bar rates, absolute paths and object addresses. Widget outputs (ids) and HTML (plotly
# div ids) are not compared; stdout, text/plain results and plotly figure data are.
_VARIABLE = [
    (re.compile(r"\d+(\.\d+)?\s*(ms|s|sec|seconds|min|minutes)\b"), "<time>"),
    (re.compile(r"\d+(\.\d+)?\s*([KMG]i?B)\b"), "<memory>"),
    (re.compile(r"\d+(\.\d+)?\s*it/s"), "<rate>"),
    (re.compile(r"(?<![\w.])/[^\s'\",;)\]]+"), "<path>"),
    (re.compile(r"0x[0-9a-f]+"), "<address>"),
]


def _coalesced(outputs) -> list:
    """Consecutive stdout chunks joined: the kernel splits one print's text at flush points that
    depend on timing (a run showed "moves the vector by" and " 0.0" as two outputs)."""
    joined = []
    for out in outputs:
        if (out.get("output_type") == "stream" and out.get("name") == "stdout" and joined
                and joined[-1].get("output_type") == "stream" and joined[-1].get("name") == "stdout"):
            joined[-1] = {**joined[-1], "text": joined[-1]["text"] + out["text"]}
        else:
            joined.append(out)
    return joined


def printed(nb) -> list[str]:
    """What each output of an executed notebook shows, with the variable parts masked."""
    shown = []
    for i, cell in enumerate(nb.cells):
        for out in _coalesced(cell.get("outputs", [])):
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                continue
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                text = out["text"]
            elif "application/vnd.plotly.v1+json" in data:
                text = json.dumps(_rounded(data["application/vnd.plotly.v1+json"].get("data")), sort_keys=True)
            elif "text/plain" in data:
                text = data["text/plain"]
            else:
                continue
            for pattern, mask in _VARIABLE:
                text = pattern.sub(mask, text)
            shown.append(f"cell {i}: {text}")
    return shown


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def test_printed_masks_only_the_variable_parts():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                  text="trained in 12.5 s, peak 900 MB, saved to /tmp/x/m; "
                                                       "accuracy 0.871 (26/30)\n")]
    assert printed(nb) == ["cell 0: trained in <time>, peak <memory>, saved to <path>; accuracy 0.871 (26/30)\n"]
    split = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    split.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=t)
                              for t in ("moves it by", " 0.0\n")]
    assert printed(split) == ["cell 0: moves it by 0.0\n"]  # one print, however the kernel chunked it


def test_reruns_print_identical_numbers(tmp_path):
    """Two smoke runs of notebook 01 (seeded) print the same numbers, figures included."""
    path = next(p for p in runner.notebooks() if p.name.startswith("01_"))
    runs = []
    for n in (1, 2):
        result = runner.execute(path, "smoke", tmp_path / f"run{n}", timeout=600)
        assert result.ok, result.error
        runs.append(printed(nbformat.read(tmp_path / f"run{n}" / path.name, as_version=4)))
    assert len(runs[0]) > 5
    assert len(runs[0]) == len(runs[1]), "the two runs show a different number of outputs"
    differ = [(a, b) for a, b in zip(*runs, strict=True) if a != b]
    assert not differ, f"{len(differ)} outputs differ between two runs; first: {differ[0]}"

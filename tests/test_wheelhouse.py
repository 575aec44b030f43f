"""The offline lab install: a wheelhouse with checksums, and `make setup-offline` from it.

The last test is the real thing and takes minutes: it builds build/wheelhouse (or reuses it when
it still verifies), installs it into a fresh venv with pip --no-index and no pip configuration
(so nothing but the wheelhouse can supply a package), and runs notebook 01 there in smoke.
"""

import os
import shutil
import subprocess
import sys

import pytest

from course import wheelhouse as wh
from course.env import CourseError
from course.nbtools import ROOT


def _fake_pip(wheels):
    """A stand-in for `pip wheel` that drops empty wheel files named like the real ones."""
    def pip(*args):
        out = wh.Path(args[args.index("--wheel-dir") + 1])
        for name in wheels if "-r" in args else ["embedding_course-0.1.0-py3-none-any.whl"]:
            (out / name).write_bytes(name.encode())
    return pip


@pytest.fixture
def pinned(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("torch==2.13.0\nsentence-transformers==6.2.0\n# a comment\nPyYAML==6.0.4\n")
    return req


GOOD = ["torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", "sentence_transformers-6.2.0-py3-none-any.whl",
        "pyyaml-6.0.4-cp311-cp311-manylinux2014_x86_64.whl", "setuptools-84.2.1-py3-none-any.whl"]


def test_pins_and_wheel_names_compare_as_pip_does(pinned, tmp_path):
    assert wh.pins(pinned) == {"torch": "2.13.0", "sentence-transformers": "6.2.0", "pyyaml": "6.0.4"}
    for name in GOOD:
        (tmp_path / name).touch()
    assert ("torch", "2.13.0+cpu") in wh.wheel_versions(tmp_path)
    assert ("sentence-transformers", "6.2.0") in wh.wheel_versions(tmp_path)


def test_build_writes_checksums_and_verify_accepts_them(pinned, tmp_path, monkeypatch):
    monkeypatch.setattr(wh, "_pip", _fake_pip(GOOD))
    out, said = tmp_path / "wheels", []
    assert wh.build(out, pinned, echo=said.append) == 5
    sums = (out / wh.SUMS).read_text().splitlines()
    assert len(sums) == 7 and f"{wh.sha256(out / GOOD[0])}  {GOOD[0]}" in sums  # 5 wheels, pins, BUILT_FOR
    assert (out / wh.PINS).read_text() == pinned.read_text()
    assert "5 wheels" in said[0] and "torch 2.13.0+cpu" in said[0] and f"make setup-offline WHEELS={out}" in said[0]
    assert wh.verify(out, pinned) == 5


def test_build_refuses_cuda_torch_and_missing_pins(pinned, tmp_path, monkeypatch):
    cuda = [*GOOD, "nvidia_cublas_cu12-12.8.4.1-py3-none-manylinux_2_27_x86_64.whl"]
    monkeypatch.setattr(wh, "_pip", _fake_pip(cuda))
    with pytest.raises(CourseError, match=r"CUDA build of torch \(1 GPU wheels .*--torch-index https://download"):
        wh.build(tmp_path / "a", pinned)
    monkeypatch.setattr(wh, "_pip", _fake_pip(GOOD[:2]))
    with pytest.raises(CourseError, match=r"lacks a wheel for pyyaml==6.0.4; pip did not fetch them"):
        wh.build(tmp_path / "b", pinned)


def test_verify_names_what_is_wrong(pinned, tmp_path, monkeypatch):
    monkeypatch.setattr(wh, "_pip", _fake_pip(GOOD))
    out = tmp_path / "wheels"
    wh.build(out, pinned, echo=lambda _: None)
    with pytest.raises(CourseError, match=r"has no SHA256SUMS, so it is not a wheelhouse"):
        wh.verify(tmp_path, pinned)
    (out / "evil-1.0-py3-none-any.whl").touch()
    with pytest.raises(CourseError, match=r"1 file\(s\) not in SHA256SUMS \(first: evil-1.0-py3-none-any.whl\)"):
        wh.verify(out, pinned)
    (out / "evil-1.0-py3-none-any.whl").unlink()
    (out / GOOD[1]).write_bytes(b"damaged in the copy")
    with pytest.raises(CourseError, match=r"1 file\(s\) of .* are missing or differ from SHA256SUMS"):
        wh.verify(out, pinned)
    wh.build(out, pinned, echo=lambda _: None)
    other = tmp_path / "other.txt"
    other.write_text("torch==2.14.0\n")
    with pytest.raises(CourseError, match=r"built for another requirements.txt"):
        wh.verify(out, other)
    monkeypatch.setattr(wh, "built_for", lambda: "cp312 darwin arm64")
    with pytest.raises(CourseError, match=r"holds wheels for cp311 .* and this Python is cp312 darwin arm64"):
        wh.verify(out, pinned)


def test_verify_runs_as_a_script_before_anything_is_installed(tmp_path):
    """The Makefile runs `python3 course/wheelhouse.py --verify DIR` with a bare Python."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(ROOT / "course" / "wheelhouse.py"), "--verify", str(tmp_path)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 2 and done.stderr.startswith(f"error: {tmp_path} has no SHA256SUMS"), done.stderr


def test_offline_install_from_the_wheelhouse_runs_notebook_01(tmp_path):
    """Build (or reuse) build/wheelhouse, `make setup-offline` into a fresh venv with no index and
    no pip configuration, then run notebook 01 in the smoke profile with that venv."""
    wheels = ROOT / "build" / "wheelhouse"
    try:
        wh.verify(wheels)
    except CourseError:
        shutil.rmtree(wheels, ignore_errors=True)
        wh.build(wheels)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, HF_HUB_OFFLINE="1", COURSE_PROFILE="smoke")
    venv = tmp_path / "venv"
    try:
        done = subprocess.run(["make", "-C", str(ROOT), "setup-offline", f"WHEELS={wheels}", f"VENV={venv}",
                               f"PYTHON={sys.executable}"], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "doctor: all good" in done.stdout
        python = str(venv / "bin" / "python")
        where = subprocess.run([python, "-c", "import course, torch; print(course.__file__, torch.__version__)"],
                               capture_output=True, text=True, env=env, check=True).stdout.split()
        assert where == [str(ROOT / "course" / "__init__.py"), "2.13.0+cpu"]  # editable, CPU torch
        run = subprocess.run([python, "-m", "course", "run", "--profile", "smoke", "01", "--out", str(tmp_path / "b")],
                             capture_output=True, text=True, env=env, cwd=ROOT)
        assert run.returncode == 0 and "1 of 1 notebooks ran in profile smoke" in run.stdout, run.stdout + run.stderr
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # about 3 GB

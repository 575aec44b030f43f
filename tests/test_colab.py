"""Colab that chains and stays put: links pinned to a git ref, artifacts on Google Drive."""

import os
import shutil
import subprocess
import sys
import types

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from course import env, meta, nbtools
from course.__main__ import main

# Colab's form syntax for a checkbox (Insert -> Add form field -> boolean), character for character.
DRIVE_BOX = 'USE_DRIVE = False  #@param {type:"boolean"}'


@pytest.mark.parametrize("ref", ["main", "v1.0", "v1.0.0-rc1", "release/2025-spring", "spring_2025"])
def test_tags_and_branches_are_accepted(ref):
    assert meta.check_ref(ref) == ref


@pytest.mark.parametrize(("ref", "why"), [
    ("", "is empty"), ("  ", "is empty"), ("v 1", "contains ' '"), ('v1"', "contains '\"'"),
    ("v1#x", "contains '#'"), ("a@{1}", "contains '@'"), ("-v1", "starts with '-'"), ("v1/", "ends with '/'"),
    ("a..b", "'..'"), ("a//b", "'//'"), ("x.lock", "'.lock'"), ("a/.hidden", "starts with '.'"),
])
def test_a_malformed_ref_is_one_clear_error(ref, why):
    with pytest.raises(env.CourseError, match="name a git tag or branch") as err:
        meta.check_ref(ref)
    assert why in str(err.value) and repr(ref) in str(err.value)


@pytest.mark.parametrize("ref", ["", "v 1.0", "../main"])
def test_sync_links_refuses_a_bad_ref_before_touching_a_file(ref, capsys, monkeypatch):
    monkeypatch.setattr(nbtools, "set_branch", lambda *a: pytest.fail("wrote meta.py for a bad ref"))
    assert main(["sync-links", "--ref", ref]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --ref {ref!r} ") and err.count("\n") == 1


def _copy_of_the_repo(tmp_path):
    """The files sync-links rewrites (and the package that rewrites them), in a scratch clone."""
    root = tmp_path / "repo"
    shutil.copytree(nbtools.ROOT / "course", root / "course", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(nbtools.NOTEBOOKS, root / "notebooks")
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(nbtools.ROOT / name, root / name)
    _git(root, "init", "-q")
    return root


def _git(root, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                   capture_output=True)


def _sync(root, *args):
    environ = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "course", "sync-links", *args], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _snapshot(root):
    files = [root / "README.md", root / "course" / "meta.py", *sorted((root / "notebooks").glob("*.ipynb"))]
    return {str(f.relative_to(root)): f.read_bytes() for f in files}


def test_sync_links_pins_every_badge_and_install_line_to_a_tag_and_back(tmp_path):
    root = _copy_of_the_repo(tmp_path)
    today = _snapshot(root)
    assert meta.BRANCH == "main"

    out = _sync(root, "--ref", "v1.0")
    assert "point at 'v1.0'; it is no tag or branch here yet: commit, then `git tag v1.0`" in out
    pinned = _snapshot(root)
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 9
    for path in notebooks:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        badge = f"https://colab.research.google.com/github/{meta.REPO}/blob/v1.0/notebooks/{path.name}"
        assert text.count("colab.research.google.com/github/") == 1 and badge in text
        assert text.count("%pip install") == 1
        assert f'%pip install -q "{meta.PACKAGE} @ git+https://github.com/{meta.REPO}@v1.0"' in text
    readme = pinned["README.md"].decode()
    assert readme.count("colab.research.google.com/github/") == 9
    assert readme.count("/blob/v1.0/notebooks/") == 9 and "/blob/main/" not in readme
    assert b'BRANCH = "v1.0"' in pinned["course/meta.py"]

    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "pin v1.0")
    _git(root, "tag", "v1.0")
    out = _sync(root, "--ref", "v1.0")  # twice: no change, and the tag now exists
    assert out.splitlines() == ["Colab badges and install lines point at 'v1.0'"] and _snapshot(root) == pinned
    assert "updated" not in _sync(root) and _snapshot(root) == pinned  # no --ref: meta.py's BRANCH, now v1.0
    _sync(root, "--ref", "main")
    assert _snapshot(root) == today  # back to main: today's files, byte for byte


def test_a_ref_with_a_slash_round_trips(tmp_path):
    path = tmp_path / nbtools.notebooks()[0].name
    shutil.copy(nbtools.notebooks()[0], path)
    before = path.read_bytes()
    assert nbtools.sync_links(path, "release/2025-spring")
    assert f"/blob/release/2025-spring/notebooks/{path.name}" in path.read_text()
    assert "@release/2025-spring" in path.read_text()
    assert nbtools.sync_links(path, "main") and path.read_bytes() == before


def test_pin_rewrites_course_links_and_leaves_other_installs_alone():
    text = (f"see [06](https://colab.research.google.com/github/{meta.REPO}/blob/main/notebooks/06_x.ipynb)\n"
            f'%pip install -q "{meta.pip_spec()}"\n%pip install -q "umap-learn==0.5.12"\n'
            "https://colab.research.google.com/github/someone/else/blob/main/nb.ipynb")
    pinned = nbtools.pin(text, "v2")
    assert f"{meta.REPO}/blob/v2/notebooks/06_x.ipynb" in pinned and meta.pip_spec("v2") in pinned
    assert '%pip install -q "umap-learn==0.5.12"' in pinned and "someone/else/blob/main/nb.ipynb" in pinned


def test_set_branch_rewrites_meta_and_refuses_a_file_without_branch(tmp_path, monkeypatch):
    monkeypatch.setattr(meta, "BRANCH", meta.BRANCH)  # restored after the test
    copy = tmp_path / "meta.py"
    shutil.copy(meta.__file__, copy)
    assert nbtools.set_branch("v3", copy) and 'BRANCH = "v3"' in copy.read_text() and meta.BRANCH == "v3"
    assert not nbtools.set_branch("v3", copy)
    copy.write_text("REPO = 'x'\n")
    with pytest.raises(env.CourseError, match="has no line BRANCH"):
        nbtools.set_branch("v3", copy)


# ---------------------------------------------------------------- the setup cell and Google Drive

def test_every_notebook_starts_with_the_generated_setup_cell():
    for path in nbtools.notebooks():
        nb = nbformat.read(path, as_version=4)
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert setup.source == nbtools.setup_cell().source, f"{path.name}: run `python -m course sync-links`"


def test_the_setup_cell_has_the_drive_box_and_the_colab_calls():
    lines = nbtools.setup_cell().source.splitlines()
    assert DRIVE_BOX in lines
    assert '        from google.colab import drive' in lines and '        drive.mount("/content/drive")' in lines
    assert f'        os.environ["COURSE_ARTIFACTS"] = "{nbtools.DRIVE_ARTIFACTS}"' in lines
    assert lines.index(DRIVE_BOX) < lines.index('if "google.colab" in sys.modules:')  # the box is read first
    assert nbtools.DRIVE_ARTIFACTS.startswith("/content/drive/MyDrive/")
    assert len(lines) <= 15


def _setup_python(use_drive: bool) -> str:
    """The setup cell as the kernel runs it (the %pip magic turned into Python), box ticked or not."""
    source = nbtools.setup_cell().source.replace(DRIVE_BOX, f"USE_DRIVE = {use_drive}")
    return TransformerManager().transform_cell(source)


class FakeIPython:
    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


def test_off_colab_the_setup_cell_ignores_the_box(monkeypatch):
    monkeypatch.delenv("COURSE_ARTIFACTS", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    ipython, namespace = FakeIPython(), {}
    namespace["get_ipython"] = lambda: ipython
    exec(_setup_python(use_drive=True), namespace)
    assert ipython.magics == [] and "drive" not in namespace and "COURSE_ARTIFACTS" not in os.environ
    assert namespace["P"] == env.profile()


@pytest.fixture
def fake_colab(monkeypatch):
    """google.colab and google.colab.drive as Colab has them, recording drive.mount's calls."""
    mounts = []
    drive = types.ModuleType("google.colab.drive")
    drive.mount = lambda mountpoint, **kwargs: mounts.append(mountpoint)
    colab = types.ModuleType("google.colab")
    colab.drive = drive
    google = sys.modules.get("google") or types.ModuleType("google")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setattr(google, "colab", colab, raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    monkeypatch.delenv("COURSE_ARTIFACTS", raising=False)
    return mounts


@pytest.mark.parametrize("use_drive", [False, True])
def test_on_colab_the_box_mounts_drive_and_moves_the_artifacts(fake_colab, use_drive):
    head = _setup_python(use_drive).split("import course\n")[0]  # what runs before the course is imported
    ipython = FakeIPython()
    exec(head, {"get_ipython": lambda: ipython})
    assert ipython.magics == [("pip", f'install -q "{meta.pip_spec()}"')]
    assert fake_colab == (["/content/drive"] if use_drive else [])
    assert os.environ.get("COURSE_ARTIFACTS") == (nbtools.DRIVE_ARTIFACTS if use_drive else None)


def test_course_artifacts_routes_every_artifact_the_notebooks_share(monkeypatch, tmp_path):
    """Drive (COURSE_ARTIFACTS) holds what 05 writes and 06 reads, what 06 and `python -m course
    train` save and 07 loads, and every cache, in every profile (smoke too: no smoke/ subfolder)."""
    from course import cache, efficiency, evaluation, training, triplets

    drive = tmp_path / "MyDrive" / "embedding-course" / "artifacts"
    monkeypatch.setenv("COURSE_ARTIFACTS", str(drive))
    for name in ("smoke", "cpu"):
        monkeypatch.setenv("COURSE_PROFILE", name)
        assert env.artifacts_dir() == drive
        assert triplets.default_triplets_path() == drive / "triplets" / "course_train.jsonl"  # 05 -> 06
        assert training.default_model_dir() == drive / "models" / training.MODEL_NAME  # 06, train -> 07
        assert efficiency.model_dir("minilm-matryoshka") == drive / "minilm-matryoshka"
    saved = []
    monkeypatch.setattr(training, "save_atomic", lambda model, path: saved.append(path) or path)
    training.save_model(object(), None)  # what `python -m course train` does without --output
    assert saved == [drive / "models" / training.MODEL_NAME]
    assert training.parser().parse_args([]).output is None
    assert evaluation.result_cache(env.profile()).cache_path == drive / "mteb"  # 07's MTEB results (cpu)
    assert cache.root() == drive / "cache"  # the cached steps: 04's cross-encoders, 06's and 08's runs


def test_the_banner_says_where_artifacts_go(monkeypatch):
    monkeypatch.setenv("COURSE_ARTIFACTS", nbtools.DRIVE_ARTIFACTS)
    line = env.banner()
    assert "\n" not in line and f"artifacts in {nbtools.DRIVE_ARTIFACTS}" in line
    monkeypatch.delenv("COURSE_ARTIFACTS")
    assert "artifacts in" not in env.banner()

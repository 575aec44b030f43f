import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import course
from course import models


@pytest.fixture(scope="module")
def model():
    return course.load_embedder()


def test_offline_default_is_the_packaged_minilm(model):
    assert models.resolve() == str(models.packaged_model_path())
    assert model.get_embedding_dimension() == 384
    assert model.model_card_data.model_name == course.DEFAULT_MODEL


def test_embeddings_are_unit_length_and_meaningful(model):
    vecs = model.encode(["A dog barks at the postman.", "A puppy yaps at the mail carrier.",
                         "Interest rates rose by half a point."])
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2] + 0.3


def test_other_hub_ids_offline_name_what_is_available():
    with pytest.raises(course.ModelUnavailableError, match="all-MiniLM-L6-v2"):
        models.resolve("bert-base-uncased")


def test_local_folder_loads_offline(model, tmp_path):
    model.save(str(tmp_path / "mine"))
    assert models.resolve(str(tmp_path / "mine")) == str(tmp_path / "mine")


def test_weights_mismatch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not the real weights")
    with pytest.raises(models.WeightsMismatchError, match="not the official"):
        models.verify_weights(fake)


def test_weights_check_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights = tmp_path / "w.bin"
    shutil.copy(models.packaged_model_path() / "model.safetensors", weights)
    models.verify_weights(weights)
    calls = []
    monkeypatch.setattr(models, "sha256_of", lambda p: calls.append(p) or "x")
    models.verify_weights(weights)  # second time: from the stamp, no hashing
    assert calls == []


def test_offline_load_never_opens_a_socket():
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network used: %r' % (a,))\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import course\n"
        "m = course.load_embedder()\n"
        "print(m.encode(['ok']).shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["COURSE_OFFLINE"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(1, 384)" in out.stdout


# ---------------------------------------------------------------- saving without losing the previous model

@pytest.fixture(scope="module")
def tiny():
    from course.training import random_bert

    return random_bert(hidden=32, layers=1, heads=2)


class _FailingSave:
    """Writes part of a model, then fails like `error` (a full disk, Ctrl-C)."""

    def __init__(self, error):
        self.error = error

    def save(self, path):
        (Path(path) / "config.json").write_text("{")
        raise self.error


def test_save_atomic_replaces_the_previous_model_without_leftovers(tiny, model, tmp_path):
    folder = tmp_path / "models" / "mine"
    models.save_atomic(tiny, folder)
    models.save_atomic(model, folder)  # the second save replaces the first
    assert course.load_embedder(str(folder)).get_embedding_dimension() == 384
    assert sorted(p.name for p in folder.parent.iterdir()) == ["mine"]


@pytest.mark.parametrize("error, raised", [(OSError(28, "No space left on device"), models.ModelSaveError),
                                           (KeyboardInterrupt(), KeyboardInterrupt)])
def test_failed_save_keeps_the_previous_model(tiny, tmp_path, error, raised):
    folder = models.save_atomic(tiny, tmp_path / "mine")
    before = tiny.encode(["A zebra grazes."])
    with pytest.raises(raised):
        models.save_atomic(_FailingSave(error), folder)
    assert np.allclose(course.load_embedder(str(folder)).encode(["A zebra grazes."]), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_save_killed_midway_leaves_the_previous_model_loading(tiny, tmp_path):
    folder = models.save_atomic(tiny, tmp_path / "mine")
    before = tiny.encode(["A zebra grazes."])
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from course.models import save_atomic\n"
        "class Slow:\n"
        "    def save(self, path):\n"
        "        (Path(path) / 'config.json').write_text('{')\n"
        "        print('half written', flush=True)\n"
        "        time.sleep(120)\n"
        "save_atomic(Slow(), sys.argv[1])\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": root})
    try:
        assert proc.stdout.readline().strip() == "half written"
    finally:
        proc.kill()  # SIGKILL: no cleanup code runs, as when Colab drops the runtime
        proc.wait(30)
    assert np.allclose(course.load_embedder(str(folder)).encode(["A zebra grazes."]), before)
    assert any(p.name.startswith(".mine.saving-") for p in tmp_path.iterdir())  # the partial copy
    models.save_atomic(tiny, folder)  # the next save removes it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_kill_between_the_two_renames_is_repaired_by_the_next_save(tiny, tmp_path):
    folder = models.save_atomic(tiny, tmp_path / "mine")
    folder.rename(tmp_path / ".mine.old-1a2b3c4d")  # killed after moving the old model aside
    with pytest.raises(models.ModelSaveError):
        models.save_atomic(_FailingSave(OSError(28, "No space left on device")), folder)
    assert course.load_embedder(str(folder)).get_embedding_dimension() == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_file_or_an_empty_folder_is_not_a_model(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"0")
    with pytest.raises(models.NotAModelError, match="is a file, not a model folder"):
        course.load_embedder(str(tmp_path / "weights.bin"))
    with pytest.raises(models.NotAModelError, match="holds no saved sentence-transformers model"):
        course.load_embedder(str(tmp_path))

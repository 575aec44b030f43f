import os
import shutil
import subprocess
import sys

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

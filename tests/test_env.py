import socket
import threading
import time

import pytest

from course import env


def test_profile_env_override(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert env.profile_name() == "cpu"
    p = env.profile()
    assert p.name == "cpu" and p.seeds == (0, 1, 2) and not p.smoke


def test_profile_defaults_to_smoke_under_ci(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.setenv("CI", "true")
    assert env.profile_name() == "smoke"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        env.profile_name()


def test_probe_sees_a_listening_port_and_a_closed_one():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        assert env.probe("127.0.0.1", port, timeout=1.0)
    finally:
        server.close()
    assert not env.probe("127.0.0.1", port, timeout=1.0)


def test_probe_never_waits_longer_than_its_timeout(monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):  # a DNS lookup or connect that never answers
        release.wait(10)
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    assert env.probe("hub.invalid", 443, timeout=0.3) is False
    assert time.perf_counter() - start < 1.0
    release.set()


def test_offline_flag_skips_the_probe_and_sets_library_flags(monkeypatch):
    env.is_online.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(env, "probe", lambda *a, **k: pytest.fail("probed although offline"))
    try:
        assert env.is_online() is False
        import huggingface_hub.constants as hub

        assert hub.HF_HUB_OFFLINE is True
        assert env.os.environ["HF_DATASETS_OFFLINE"] == "1"
    finally:
        env.is_online.cache_clear()


def test_seed_everything_repeats_random_numbers():
    import numpy as np
    import torch

    env.seed_everything(3)
    a = (np.random.rand(), torch.rand(1).item())
    env.seed_everything(3)
    assert (np.random.rand(), torch.rand(1).item()) == a


def test_banner_is_one_line_naming_profile_and_path():
    line = env.banner()
    assert "\n" not in line
    assert "profile=smoke" in line and "offline" in line and "sentence-transformers" in line


def test_artifacts_dir_honours_override(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path / "art"))
    assert env.artifacts_dir() == tmp_path / "art" and (tmp_path / "art").is_dir()


def test_smoke_runs_keep_their_artifacts_apart(monkeypatch):
    monkeypatch.delenv("COURSE_ARTIFACTS", raising=False)
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    smoke = env.artifacts_dir()
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert smoke == env.artifacts_dir() / "smoke"


def test_a_profile_chosen_on_the_command_line_moves_artifacts_to_smoke(monkeypatch, tmp_path):
    """`--profile smoke` (env.use_profile) routes artifacts like COURSE_PROFILE=smoke does."""
    monkeypatch.delenv("COURSE_ARTIFACTS", raising=False)
    monkeypatch.setattr(env, "artifacts_root", lambda: tmp_path / "artifacts")
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert env.artifacts_dir() == tmp_path / "artifacts"
    env.use_profile("smoke")
    assert env.profile().name == "smoke" and env.artifacts_dir() == tmp_path / "artifacts" / "smoke"
    with pytest.raises(env.ProfileError, match="'turbo' is not a course profile"):
        env.use_profile("turbo")


# ---------------------------------------------------------------- COURSE_CLASSROOM=1

@pytest.fixture
def classroom(monkeypatch):
    """COURSE_CLASSROOM=1 in a process that has not decided its device or network yet; every
    global the switch touches (env vars, torch's MPS check, the cached decisions) is restored."""
    import torch

    monkeypatch.setenv("COURSE_CLASSROOM", "1")
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "COURSE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(torch.backends.mps, "is_available", torch.backends.mps.is_available)
    env.device.cache_clear()
    env.is_online.cache_clear()
    yield monkeypatch
    env.device.cache_clear()
    env.is_online.cache_clear()


def test_classroom_runs_the_cpu_profile_even_under_ci_unless_a_profile_is_named(classroom):
    classroom.setenv("CI", "true")
    assert env.in_ci() and env.profile_name() == "cpu"
    classroom.setenv("COURSE_PROFILE", "smoke")  # the instructor may still pick one for the whole class
    assert env.profile_name() == "smoke"
    classroom.setenv("COURSE_CLASSROOM", "0")
    classroom.delenv("COURSE_PROFILE")
    assert env.profile_name() == "smoke"  # switched off: CI's smoke again


def test_classroom_is_offline_at_once_without_probing(classroom):
    classroom.setattr(env, "probe", lambda *a, **k: pytest.fail("probed the network in a classroom"))
    start = time.perf_counter()
    assert env.is_online() is False
    assert time.perf_counter() - start < 0.1
    assert all(env.os.environ[v] == "1" for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"))


def test_classroom_trains_on_the_cpu_even_where_a_gpu_is(classroom, tmp_path):
    """The Trainer picks MPS or CUDA by itself when it sees one; in a classroom it sees neither."""
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments
    from transformers.utils.import_utils import is_torch_mps_available

    classroom.setattr(torch.backends.mps, "is_available", lambda: True)  # an Apple-silicon laptop
    classroom.setattr(torch.backends.mps, "is_built", lambda: True)
    is_torch_mps_available.cache_clear()
    try:
        classroom.setenv("COURSE_CLASSROOM", "0")
        assert SentenceTransformerTrainingArguments(output_dir=str(tmp_path)).device.type == "mps"
        classroom.setenv("COURSE_CLASSROOM", "1")
        assert env.device() == "cpu" and env.profile().device == "cpu"
        assert env.os.environ["CUDA_VISIBLE_DEVICES"] == "" and not torch.backends.mps.is_available()
        assert SentenceTransformerTrainingArguments(output_dir=str(tmp_path)).device.type == "cpu"
    finally:
        is_torch_mps_available.cache_clear()


def test_classroom_in_a_process_that_already_uses_its_gpu_says_to_restart(classroom):
    import torch

    classroom.setattr(torch.cuda, "is_available", lambda: True)  # CUDA answered before the switch was read
    with pytest.raises(env.CourseError, match="restart the kernel"):
        env.device()


def test_the_banner_shows_the_classroom_switch(classroom):
    line = env.banner()
    assert "\n" not in line and "classroom (COURSE_CLASSROOM=1" in line
    assert "profile=cpu | device=cpu" in line and "offline (packaged model, course data)" in line
    classroom.setenv("COURSE_CLASSROOM", "0")
    assert "classroom" not in env.banner()


def _env_after_import(**variables) -> dict:
    """os.environ of a fresh Python right after `import course` (torch not loaded yet)."""
    import json
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in ("COURSE_CLASSROOM", *env.MATH_PINS)}
    code = "import json, os, sys, course; print(json.dumps({**os.environ, 'torch': 'torch' in sys.modules}))"
    done = subprocess.run([sys.executable, "-c", code], env={**base, **variables}, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_classroom_pins_the_math_libraries_before_torch_loads():
    pinned = _env_after_import(COURSE_CLASSROOM="1")
    assert pinned["torch"] is False  # so MKL and oneDNN read the pins when torch loads them later
    assert {k: pinned.get(k) for k in env.MATH_PINS} == {"MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert _env_after_import(COURSE_CLASSROOM="1", MKL_CBWR="AVX512")["MKL_CBWR"] == "AVX512"  # yours stays
    assert not set(env.MATH_PINS) & set(_env_after_import())  # no classroom: nothing pinned


def test_compare_runs_counts_the_cells_that_printed_something_else(tmp_path):
    """benchmarks/compare_runs.py: the check an instructor runs on the projector's and a laptop's outputs."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("compare_runs", env.Path(__file__).parents[1] / "benchmarks" /
                                                  "compare_runs.py")
    compare_runs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare_runs)

    def run(folder, point, figure_id, bar):
        cells = [nbformat.v4.new_code_cell(s) for s in ("print(x)", "fig", "train()", "y = 1")]
        cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"on the map at {point}\n")]
        cells[1].outputs = [nbformat.v4.new_output("display_data", {"text/html": f"<div id='{figure_id}'>"})]
        cells[2].outputs = [nbformat.v4.new_output(
            "display_data", {"application/vnd.jupyter.widget-view+json": {}, "text/plain": bar})] if bar else []
        (tmp_path / folder).mkdir()
        nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / folder / "02_map.ipynb")
        return compare_runs.compare

    run("projector", "[ 1.55 -0.59]", "3a1b08e7-8ff8-452c-af1d-2ceb0a3c97fd", "Batches: 100%")
    compare = run("laptop", "[ 1.47 -0.64]", "938a2b22-753b-43ac-99f9-705f42a30d81", None)
    result = compare(tmp_path / "projector" / "02_map.ipynb", tmp_path / "laptop" / "02_map.ipynb")
    assert result["cells_with_output"] == 2 and result["identical"] == 1  # figure ids and progress bars don't count
    assert result["differing"] == [{"cell": 0, "a": "on the map at [ 1.55 -0.59]", "b": "on the map at [ 1.47 -0.64]"}]

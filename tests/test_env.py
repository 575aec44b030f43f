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

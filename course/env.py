"""Where the course runs: profile (smoke | cpu | gpu), device, seeds, Colab, online/offline.

Everything a notebook sizes itself by comes from `profile()`, so one environment variable
(`COURSE_PROFILE`) switches the whole course between a seconds-long smoke run, a real CPU
run and the full GPU run.
"""

from __future__ import annotations

import functools
import os
import random
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("smoke", "cpu", "gpu")
HUB_HOST = "huggingface.co"
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = {"1", "true", "yes", "on"}


class CourseError(Exception):
    """An expected failure (bad input, missing model, no network): its message is one sentence
    that says what was wrong and what to do. `python -m course` prints it as `error: ...`."""


class ProfileError(CourseError, ValueError):
    """COURSE_PROFILE (or --profile) names no course profile."""


@dataclass(frozen=True)
class Profile:
    """The sizes every notebook reads; module-specific presets key off `name`."""

    name: str
    device: str
    online: bool
    seeds: tuple[int, ...]
    hub_rows: int  # cap on rows taken from a hub dataset (online path)
    batch_size: int  # encode batch size

    @property
    def smoke(self) -> bool:
        return self.name == "smoke"


_SIZES = {
    "smoke": dict(seeds=(0,), hub_rows=500, batch_size=64),
    "cpu": dict(seeds=(0, 1, 2), hub_rows=5_000, batch_size=64),
    "gpu": dict(seeds=(0, 1, 2), hub_rows=100_000, batch_size=256),
}


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def in_ci() -> bool:
    """True under CI or pytest, where every run must be the seconds-long smoke run."""
    return _truthy("CI") or "PYTEST_CURRENT_TEST" in os.environ or "pytest" in sys.modules


@functools.cache
def device() -> str:
    """The one place that picks the device: cuda, then mps, then cpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def profile_name() -> str:
    """Resolve the profile: COURSE_PROFILE, else smoke under CI/pytest, gpu with CUDA, else cpu."""
    name = os.environ.get("COURSE_PROFILE", "").strip().lower()
    if name:
        if name not in PROFILES:
            raise ProfileError(
                f"COURSE_PROFILE={name!r} is not a course profile; use one of {', '.join(PROFILES)}."
            )
        return name
    if in_ci():
        return "smoke"
    return "gpu" if device() == "cuda" else "cpu"


def use_profile(name: str) -> None:
    """Make `name` the active profile for this process and the ones it starts (a command
    line's --profile): sizes, and where artifacts go, then follow it like COURSE_PROFILE."""
    if name not in PROFILES:
        raise ProfileError(f"Profile {name!r} is not a course profile; use one of {', '.join(PROFILES)}.")
    os.environ["COURSE_PROFILE"] = name


def profile() -> Profile:
    """The active profile: its name, device, online flag and the sizes notebooks use."""
    name = profile_name()
    return Profile(name=name, device=device(), online=is_online(), **_SIZES[name])


def probe(host: str = HUB_HOST, port: int = 443, timeout: float = 1.0) -> bool:
    """True if a TCP connection to host:port opens within `timeout` seconds (DNS included)."""
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout)  # a hanging DNS lookup cannot hold us longer than this
    return bool(result and result[0])


@functools.cache
def is_online() -> bool:
    """Decide once, in about a second at most, whether the model hub is reachable.

    HF_HUB_OFFLINE=1 (or COURSE_OFFLINE=1) forces offline without probing. When offline,
    the Hugging Face offline flags are set so no library later waits ~70 s on a timeout.
    """
    if any(_truthy(v) for v in (*_OFFLINE_VARS, "COURSE_OFFLINE")):
        online = False
    else:
        online = probe()
    if not online:
        go_offline()
    return online


def go_offline() -> None:
    """Set the Hugging Face offline flags, also in libraries already imported."""
    for var in _OFFLINE_VARS:
        os.environ[var] = "1"
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is not None:
        hub_constants.HF_HUB_OFFLINE = True
    ds_config = sys.modules.get("datasets.config")
    if ds_config is not None:
        ds_config.HF_HUB_OFFLINE = True
        ds_config.HF_DATASETS_OFFLINE = True


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so a run gives the same numbers every time."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def versions() -> dict[str, str]:
    """Versions of the libraries whose APIs the course depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "sentence-transformers", "transformers", "datasets", "mteb"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "missing"
    return out


def banner(p: Profile | None = None) -> str:
    """One line that says which path ran: profile, device, online/offline, key versions."""
    p = p or profile()
    where = "Colab" if in_colab() else "local"
    net = "online (hub models and data)" if p.online else "offline (packaged model, course data)"
    libs = ", ".join(f"{k} {v}" for k, v in versions().items() if k != "mteb")
    return f"course | profile={p.name} | device={p.device} | {where}, {net} | {libs}"


def setup_plotting() -> None:
    """Pick a plotly renderer that works here: Colab's own, else the plotly mimetype alone.

    The mimetype output is the figure's JSON (a few kB); JupyterLab, Notebook 7 and VS Code draw
    it with their own plotly.js (plotly ships the JupyterLab extension), and the course website
    redraws it on its local copy (course.site). The "notebook" renderer would also paste the
    whole plotly.js bundle (about 4.7 MB) into every executed notebook.
    """
    import plotly.io as pio

    pio.renderers.default = "colab" if in_colab() else "plotly_mimetype"


def artifacts_root() -> Path:
    """<repo>/artifacts in a clone of the repo; elsewhere (Colab, a pip install) ./artifacts."""
    root = Path(__file__).resolve().parent.parent
    return root / "artifacts" if (root / "pyproject.toml").is_file() else Path.cwd() / "artifacts"


def artifacts_dir() -> Path:
    """Where notebooks write what later notebooks read (triplets, models, MTEB results).

    COURSE_ARTIFACTS wins (exactly that folder); otherwise artifacts_root(), and for a smoke
    run, however the profile was chosen (COURSE_PROFILE, CI, pytest, --profile smoke), its
    `smoke/` subfolder, so a smoke run never overwrites a model or data a real run left behind.
    """
    override = os.environ.get("COURSE_ARTIFACTS")
    if override:
        path = Path(override)
    else:
        path = artifacts_root()
        if profile_name() == "smoke":
            path = path / "smoke"
    path.mkdir(parents=True, exist_ok=True)
    return path

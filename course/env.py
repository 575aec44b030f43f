"""Where the course runs: profile (smoke | cpu | gpu), device, seeds, Colab, online/offline.

Everything a notebook sizes itself by comes from `profile()`, so one environment variable
(`COURSE_PROFILE`) switches the whole course between a seconds-long smoke run, a real CPU
run and the full GPU run. `COURSE_CLASSROOM=1` pins every laptop of a class to the
projector's path: offline, the cpu profile, the CPU (see `classroom()`).
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


def classroom() -> bool:
    """True when COURSE_CLASSROOM=1: every laptop in a class runs the path the projector runs.

    What decides a notebook's numbers is pinned: offline (packaged model and course data,
    decided at once, no network probe, no downloads), the cpu profile unless COURSE_PROFILE
    names one, the CPU even where a GPU is (a GPU or Apple's MPS computes in another order
    and trains with other sizes), and the math libraries' code path (pin_math_libraries).
    Seeds need no pin: each profile fixes them (P.seeds) and the notebooks pass them to every
    random step.
    """
    return _truthy("COURSE_CLASSROOM")


# What Intel's math libraries under torch (MKL, oneDNN) need to add up the same way on every Intel
# CPU with AVX2 and at any thread count; they read these variables when they start.
MATH_PINS = {"MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def pin_math_libraries() -> None:
    """Pin MKL to its reproducible AVX2 code path and oneDNN to AVX2 (unless already set), so a
    laptop's matrix products give the projector's bits: without it they change in the last bit
    with the thread count and the processor, enough to move a UMAP point or flip a near tie.
    Runs on `import course` in a classroom, before torch loads those libraries."""
    for var, value in MATH_PINS.items():
        os.environ.setdefault(var, value)


def in_ci() -> bool:
    """True under CI or pytest, where every run must be the seconds-long smoke run."""
    return _truthy("CI") or "PYTEST_CURRENT_TEST" in os.environ or "pytest" in sys.modules


@functools.cache
def device() -> str:
    """The one place that picks the device: cuda, then mps, then cpu; cpu in a classroom."""
    import torch

    if classroom():
        hide_accelerators()
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def hide_accelerators() -> None:
    """Let torch, and every library that picks its own device, see only the CPU.

    The sentence-transformers Trainer moves the model to CUDA or MPS by itself whenever one is
    available, whatever device the model was loaded on. CUDA_VISIBLE_DEVICES="" hides CUDA GPUs
    from a process that has not asked CUDA for its devices yet; MPS has no such variable, so
    torch's MPS check is made to answer False (and transformers' cached copy of it, if already
    imported, is cleared). A process that already saw its GPU cannot unsee it: that is a
    CourseError that says to restart.
    """
    import torch

    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    torch.backends.mps.is_available = lambda: False
    hf_utils = sys.modules.get("transformers.utils.import_utils")
    if hf_utils is not None:
        hf_utils.is_torch_mps_available.cache_clear()
    if torch.cuda.is_available():
        raise CourseError("COURSE_CLASSROOM=1 runs on the CPU, but this Python process already uses its GPU: "
                          "restart the kernel (or the command) and run the setup cell first.")


def profile_name() -> str:
    """Resolve the profile: COURSE_PROFILE, else cpu in a classroom, smoke under CI/pytest,
    gpu with CUDA, else cpu."""
    name = os.environ.get("COURSE_PROFILE", "").strip().lower()
    if name:
        if name not in PROFILES:
            raise ProfileError(
                f"COURSE_PROFILE={name!r} is not a course profile; use one of {', '.join(PROFILES)}."
            )
        return name
    if classroom():
        return "cpu"
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

    HF_HUB_OFFLINE=1, COURSE_OFFLINE=1 or COURSE_CLASSROOM=1 forces offline without probing.
    When offline, the Hugging Face offline flags are set so no library later waits ~70 s on
    a timeout or downloads anything.
    """
    if classroom() or any(_truthy(v) for v in (*_OFFLINE_VARS, "COURSE_OFFLINE")):
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
    """One line that says which path ran: profile, device, online/offline, classroom mode,
    where artifacts go when COURSE_ARTIFACTS moved them (Google Drive on Colab), key versions."""
    p = p or profile()
    where = "Colab" if in_colab() else "local"
    net = "online (hub models and data)" if p.online else "offline (packaged model, course data)"
    parts = [f"course | profile={p.name} | device={p.device} | {where}, {net}"]
    if classroom():
        parts.append("classroom (COURSE_CLASSROOM=1: offline, cpu, the projector's numbers)")
    if os.environ.get("COURSE_ARTIFACTS"):
        parts.append(f"artifacts in {os.environ['COURSE_ARTIFACTS']}")
    parts.append(", ".join(f"{k} {v}" for k, v in versions().items() if k != "mteb"))
    return " | ".join(parts)


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


if classroom():
    pin_math_libraries()

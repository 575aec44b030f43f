"""Execute notebooks headless (the course's main job and the notebook benchmark).

Each notebook runs in a fresh kernel with cwd = notebooks/, in the profile asked for; the
executed copy goes to build/ and the originals are never touched. The pages to read them are
the course website (`python -m course site`, course/site.py), which works offline.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from course.env import CourseError
from course.nbtools import ROOT, notebooks


@dataclass
class RunResult:
    notebook: str
    ok: bool
    seconds: float
    peak_rss_mb: float
    error: str = ""


class _PeakRSS:
    """Poll the RSS of this process's children (the kernel and what it spawns)."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.me, self.peak, self.interval = psutil.Process(), 0, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for child in self.me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def execute(path: Path, profile: str, out_dir: Path | None, timeout: int = 1800) -> RunResult:
    """Run one notebook top to bottom in `profile`; write the executed .ipynb to out_dir if given."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            kernel_manager_class=_encrypted_kernel_manager(),
                            resources={"metadata": {"path": str(path.parent)}})
    start, error, before = time.perf_counter(), "", os.environ.get("COURSE_PROFILE")
    os.environ["COURSE_PROFILE"] = profile  # the kernel inherits it
    with _PeakRSS() as rss:
        try:
            client.execute()
        except CellExecutionError as err:
            error = str(err).strip().splitlines()[-1][:300] if str(err).strip() else repr(err)
        finally:
            if before is None:
                del os.environ["COURSE_PROFILE"]
            else:
                os.environ["COURSE_PROFILE"] = before
    result = RunResult(path.name, not error, round(time.perf_counter() - start, 1),
                       round(rss.peak / 2**20, 1), error)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
    return result


@functools.cache
def _encrypted_kernel_manager():
    """A kernel manager that gives each kernel CurveZMQ keys: the kernel's messages are
    encrypted, and ipykernel no longer warns "running over TCP without encryption" per notebook."""
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    class EncryptedKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if zmq.has("curve"):
                self.curve_publickey, self.curve_secretkey = zmq.curve_keypair()

    return EncryptedKernelManager


def run_all(profile: str, names: list[str] | None = None, out_dir: Path | None = ROOT / "build",
            echo=print) -> list[RunResult]:
    """Execute the selected notebooks (all by default) in order; one progress line each."""
    chosen = [p for p in notebooks() if not names or any(n in p.name for n in names)]
    if not chosen:
        raise CourseError(f"No notebook matches {names}; the notebooks are {[p.name for p in notebooks()]}.")
    results = []
    for i, path in enumerate(chosen, start=1):
        echo(f"[{i}/{len(chosen)}] {path.name} (profile {profile}) ...", end=" ", flush=True)
        res = execute(path, profile, out_dir)
        mark = "ok" if res.ok else "FAILED"
        echo(f"{mark} in {res.seconds:.1f} s, peak {res.peak_rss_mb:.0f} MB {res.error}".rstrip(), flush=True)
        results.append(res)
    return results

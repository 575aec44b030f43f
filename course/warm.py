"""`python -m course warm 04 06 08`: the night before a class, compute every slow step once.

Each named notebook runs headless as the class will run it (COURSE_CLASSROOM=1: offline, cpu
profile), so every step written with `course.cache.remember` computes and stores its result.
A notebook that stored something runs a second time, from the cache, so that its executed copy
in build/ times the cells as the class will see them. Then, per notebook, the cells still over
LIVE_LIMIT seconds (from that copy, course.timings): those are the ones to demo from the
projector or to start before the explanation.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from course.cache import WARM_VAR, entries
from course.env import CourseError, use_profile
from course.nbtools import ROOT, notebooks
from course.runner import execute
from course.timings import read

LIVE_LIMIT = 30.0


def warm(names: list[str], out_dir: Path = ROOT / "build", limit: float = LIVE_LIMIT, echo=print) -> int:
    """Run and cache the named notebooks; print the cells still slower than `limit`. Failures count."""
    chosen = [p for p in notebooks() if any(n in p.name for n in names)]
    if not names or not chosen:
        raise CourseError(f"Name the notebooks of the class, e.g. `python -m course warm 04 06 08`; "
                          f"the notebooks are {', '.join(p.name[:2] for p in notebooks())}.")
    os.environ.update({"COURSE_CLASSROOM": "1", "HF_HUB_OFFLINE": "1", WARM_VAR: "1"})
    use_profile("cpu")  # what COURSE_CLASSROOM=1 gives every laptop; also where this process looks for entries
    failed = 0
    for i, path in enumerate(chosen, start=1):
        since = time.time()
        result = execute(path, "cpu", out_dir)
        stored = entries(since) if result.ok else []
        echo(f"[{i}/{len(chosen)}] {path.name}: {'ran' if result.ok else 'FAILED'} in {result.seconds:.0f} s"
             + (f", cached {len(stored)} result(s): " + ", ".join(f"{e['name']} ({e['seconds']:.0f} s)"
                                                              for e in stored) if stored else "")
             + (f" {result.error}" if result.error else ""))
        if stored:
            result = execute(path, "cpu", out_dir)
            echo(f"      rerun from the cache: {'ok' if result.ok else 'FAILED'} in {result.seconds:.0f} s")
        if not result.ok:
            failed += 1
            continue
        slow = read(out_dir / path.name).over(limit)
        echo(f"      cells over {limit:g} s in class: " + ("none" if not slow else "; ".join(
            f"[{c.number}] {c.seconds:.0f} s {c.first_line}" for c in slow)))
    return failed


def cli(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m course warm", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="substrings of notebook names, e.g. 04 06 08")
    ap.add_argument("--limit", type=float, default=LIVE_LIMIT, help="seconds a live cell may take (default 30)")
    ap.add_argument("--out", type=Path, default=ROOT / "build", help="where the executed copies go (default build/)")
    args = ap.parse_args(argv)
    return 1 if warm(args.notebooks, args.out, args.limit) else 0

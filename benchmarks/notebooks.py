"""Execute each notebook in the given profile(s) and print JSON {profile: {notebook: {seconds, peak_rss_mb}}}.

    python benchmarks/notebooks.py --profile smoke cpu
    python benchmarks/notebooks.py --profile smoke 01 02     # only notebooks whose name contains 01 or 02

Each notebook runs in a fresh kernel; peak_rss_mb is the highest resident memory of the kernel
and its children, sampled every 0.2 s. Executed copies are not kept.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

from course.runner import run_all


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="substrings of notebook names (default: all)")
    ap.add_argument("--profile", nargs="+", default=["smoke"], choices=["smoke", "cpu", "gpu"])
    args = ap.parse_args()
    report = {"machine": f"{platform.machine()}, {__import__('os').cpu_count()} cpus"}
    failed = False
    for prof in args.profile:
        results = run_all(prof, args.notebooks, out_dir=None, echo=lambda *a, **k: print(*a, file=sys.stderr))
        report[prof] = {r.notebook: {"seconds": r.seconds, "peak_rss_mb": r.peak_rss_mb, "ok": r.ok}
                        for r in results}
        failed |= not all(r.ok for r in results)
    print(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

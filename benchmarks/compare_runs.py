"""Compare what two runs of the notebooks printed, cell by cell, and print JSON.

    COURSE_CLASSROOM=1 python -m course run --out build/projector 02 06   # on the projector
    COURSE_CLASSROOM=1 python -m course run --out build/laptop 02 06      # on a laptop, then copy it over
    python benchmarks/compare_runs.py build/projector build/laptop

A cell counts when either run shows output: its printed text, its results and figures (plotly's
data, not the random ids in its HTML; progress bars are left out). For each notebook the JSON gives the number of such
cells, how many are identical, and for each other cell the text where the two first differ.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|T_[0-9a-f]{5}")


def shown(cell) -> str:
    """What a code cell showed: stdout and each result (plotly data, else HTML, else text)."""
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out["text"])
        elif "application/vnd.jupyter.widget-view+json" in data:
            continue  # a progress bar: it shows up or not depending on what a cache held
        elif "application/vnd.plotly.v1+json" in data:
            parts.append(json.dumps(data["application/vnd.plotly.v1+json"], sort_keys=True))
        elif "text/html" in data:
            parts.append(data["text/html"])
        elif "text/plain" in data:
            parts.append(data["text/plain"])
    return _IDS.sub("ID", "".join(parts))


def _excerpt(text: str, at: int, width: int = 60) -> str:
    """The line around position `at`, at most `width` characters either side of it."""
    start = max(text.rfind("\n", 0, at) + 1, at - width)
    end = text.find("\n", at)
    return text[start:min(at + width, len(text) if end == -1 else end)]


def compare(a: Path, b: Path) -> dict:
    """Cells with output, identical ones, and where each other cell first differs."""
    cells = [[c for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"] for p in (a, b)]
    if len(cells[0]) != len(cells[1]):
        return {"error": f"{len(cells[0])} vs {len(cells[1])} code cells: not the same notebook version"}
    counted, differing = 0, []
    for number, (x, y) in enumerate(zip(*cells, strict=True)):
        sx, sy = shown(x), shown(y)
        if not (sx or sy):
            continue
        counted += 1
        if sx != sy:
            at = next((i for i, (u, v) in enumerate(zip(sx, sy, strict=False)) if u != v), min(len(sx), len(sy)))
            differing.append({"cell": number, "a": _excerpt(sx, at), "b": _excerpt(sy, at)})
    return {"cells_with_output": counted, "identical": counted - len(differing), "differing": differing}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path, help="folder of executed notebooks (python -m course run --out ...)")
    ap.add_argument("b", type=Path, help="the other run's folder")
    args = ap.parse_args()
    pairs = [(p, args.b / p.name) for p in sorted(args.a.glob("[0-9][0-9]_*.ipynb")) if (args.b / p.name).is_file()]
    if not pairs:
        print(f"error: no executed notebook is in both {args.a} and {args.b}", file=sys.stderr)
        return 2
    report = {a.name: compare(a, b) for a, b in pairs}
    report["total"] = {k: sum(r.get(k, 0) for r in report.values()) for k in ("cells_with_output", "identical")}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long the offline default model takes to be usable, in a fresh process, as JSON.

    python benchmarks/load_model.py [--repeat 3]

Reports, per run: importing torch + sentence-transformers (the libraries' own cost), then
`import course` + `course.load_embedder()` + one encode (the course's cost, which must not
wait on the network), and whether any socket was opened.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, socket, time
opened = []
real = socket.socket.connect
def spy(self, addr, *a):
    opened.append(str(addr)); return real(self, addr, *a)
socket.socket.connect = spy
t0 = time.perf_counter()
import torch, sentence_transformers
t1 = time.perf_counter()
import course
model = course.load_embedder()
model.encode(["warm up"])
t2 = time.perf_counter()
print(json.dumps({"library_imports_s": round(t1 - t0, 2), "course_import_load_encode_s": round(t2 - t1, 2),
                  "total_s": round(t2 - t0, 2), "sockets_opened": opened}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({"runs": runs, "best_course_s": min(r["course_import_load_encode_s"] for r in runs)},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

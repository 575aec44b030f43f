"""An offline lab install: every pinned package as a wheel in one folder, with checksums.

    python -m course wheelhouse --out wheels    # online, once: ~190 wheels, ~0.7 GB, CPU torch
    make setup-offline WHEELS=wheels            # on each lab machine, with no network

`build()` asks pip for a wheel of every pin in requirements.txt, of the course package's build
requirement (setuptools, so that `pip install -e .` works offline) and of the course package
itself (`pip install --no-index --find-links wheels embedding-course` installs the helpers
without a clone). It refuses a CUDA build of torch, copies requirements.txt beside the wheels,
notes the Python and platform they are for (BUILT_FOR) and writes SHA256SUMS. `verify()`
checks all of that before an install.

Wheels fit one Python version, OS and CPU architecture: build the wheelhouse on a machine like
the lab's. This module imports only the standard library, so the Makefile can run it as a
script before anything is installed: `python3 course/wheelhouse.py --verify wheels`.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from course.env import CourseError
except ImportError:  # run as a script, before the course's dependencies are installed
    class CourseError(Exception):  # noqa: N818 (the course's name for an expected failure)
        """An expected failure; the script prints it as one `error: ...` line."""

ROOT = Path(__file__).resolve().parent.parent
SUMS, PINS, BUILT_FOR = "SHA256SUMS", "requirements.txt", "BUILT_FOR"
CUDA_WHEELS = re.compile(r"^(nvidia[-_]|triton-)", re.I)


def normalize(name: str) -> str:
    """A project name as pip compares it (PEP 503): lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path) -> dict[str, str]:
    """{normalized name: version} of every `name==version` line."""
    found = {}
    for line in requirements.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if m:
            found[normalize(m.group(1))] = m.group(2)
    return found


def wheel_versions(folder: Path) -> set[tuple[str, str]]:
    """(normalized name, version) of each wheel in a folder, from its file name; a local label
    such as torch's "+cpu" is kept ("2.13.0+cpu")."""
    return {(normalize(w.name.split("-")[0]), w.name.split("-")[1]) for w in folder.glob("*.whl")}


def built_for() -> str:
    """The interpreter and platform wheels built here fit, e.g. 'cp311 linux x86_64'."""
    return f"{sys.implementation.name[:2]}{sys.version_info.major}{sys.version_info.minor} " \
           f"{sys.platform} {platform.machine().lower()}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _pip(*args: str) -> None:
    """Run pip with this interpreter; its own output shows, a failure becomes one error line."""
    cmd = [sys.executable, "-m", "pip", *args]
    if subprocess.run(cmd).returncode != 0:
        raise CourseError(f"pip failed ({' '.join(cmd[1:])}); read its message above: a package that "
                          "is not reachable or has no wheel for this Python needs a network or another pin.")


def build(out: Path, requirements: Path = ROOT / PINS, torch_index: str | None = None, echo=print) -> int:
    """Fill `out` with a wheel per pin (+ setuptools and the course package) and SHA256SUMS; the number of wheels."""
    out.mkdir(parents=True, exist_ok=True)
    extra = ["--extra-index-url", torch_index] if torch_index else []
    backend = re.search(r'requires\s*=\s*\["([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    _pip("wheel", "--quiet", "--wheel-dir", str(out), "-r", str(requirements), backend, *extra)
    with tempfile.TemporaryDirectory() as src:  # a copy, so the build leaves nothing in the checkout
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, src)
        shutil.copytree(ROOT / "course", Path(src) / "course", ignore=shutil.ignore_patterns("__pycache__"))
        _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out.resolve()), src)
    cuda = sorted(w.name for w in out.glob("*.whl") if CUDA_WHEELS.match(w.name))
    if cuda:
        raise CourseError(f"pip fetched the CUDA build of torch ({len(cuda)} GPU wheels such as {cuda[0]}); "
                          f"delete {out} and rerun with --torch-index https://download.pytorch.org/whl/cpu")
    have = wheel_versions(out)
    public = {(name, version.split("+")[0]) for name, version in have}
    missing = [f"{n}=={v}" for n, v in pins(requirements).items() if (n, v) not in public]
    if missing:
        raise CourseError(f"{out} lacks a wheel for {', '.join(missing[:5])}"
                          f"{' and more' if len(missing) > 5 else ''}; pip did not fetch them: rerun online.")
    (out / PINS).write_text(requirements.read_text())
    (out / BUILT_FOR).write_text(built_for() + "\n")
    files = sorted(p for p in out.iterdir() if p.is_file() and p.name != SUMS)
    (out / SUMS).write_text("".join(f"{sha256(p)}  {p.name}\n" for p in files))
    wheels = sum(p.suffix == ".whl" for p in files)
    size = sum(p.stat().st_size for p in files) / 2**30
    torch = " ".join(v for n, v in have if n == "torch")
    echo(f"wheelhouse {out}: {wheels} wheels, {size:.2f} GB, for {built_for()}, torch {torch}; "
         f"checksums in {out / SUMS}. On a lab machine: make setup-offline WHEELS={out}")
    return wheels


def verify(folder: Path, requirements: Path = ROOT / PINS) -> int:
    """Check a wheelhouse before installing from it: every file as checksummed, nothing
    unlisted, built for this requirements.txt and this Python and platform. The number of wheels."""
    if not (folder / SUMS).is_file():
        raise CourseError(f"{folder} has no {SUMS}, so it is not a wheelhouse (or not a complete copy); "
                          f"build one online with `make wheelhouse WHEELS={folder}`.")
    listed = {}
    for line in (folder / SUMS).read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    bad = [name for name, digest in listed.items() if not (folder / name).is_file() or sha256(folder / name) != digest]
    extra = [p.name for p in folder.iterdir() if p.is_file() and p.name != SUMS and p.name not in listed]
    if bad:
        raise CourseError(f"{len(bad)} file(s) of {folder} are missing or differ from {SUMS} (first: {bad[0]}): "
                          "the copy is incomplete or damaged; copy the wheelhouse again.")
    if extra:
        raise CourseError(f"{folder} holds {len(extra)} file(s) not in {SUMS} (first: {extra[0]}); pip could "
                          "install them unchecked: remove them or rebuild the wheelhouse.")
    if (folder / PINS).read_text() != requirements.read_text():
        raise CourseError(f"{folder} was built for another {PINS} than {requirements}; rebuild it online "
                          f"(make wheelhouse WHEELS={folder}) from this checkout.")
    target = (folder / BUILT_FOR).read_text().strip()
    if target != built_for():
        raise CourseError(f"{folder} holds wheels for {target}, and this Python is {built_for()}: build the "
                          "wheelhouse on a machine with the lab's Python version, OS and CPU architecture.")
    return sum(name.endswith(".whl") for name in listed)


def cli(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m course wheelhouse", description=__doc__.split("\n\n")[0])
    todo = ap.add_mutually_exclusive_group(required=True)
    todo.add_argument("--out", type=Path, help="build a wheelhouse in this folder (online)")
    todo.add_argument("--verify", type=Path, metavar="DIR", help="check a wheelhouse before installing from it")
    ap.add_argument("--torch-index", help="where pip finds the CPU build of torch if its default is CUDA "
                    "(e.g. https://download.pytorch.org/whl/cpu)")
    args = ap.parse_args(argv)
    if args.out:
        build(args.out, torch_index=args.torch_index)
        args.verify = args.out
    print(f"wheelhouse {args.verify}: {verify(args.verify)} wheels, checksums match, built for {built_for()}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(cli(sys.argv[1:]))
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)

"""Command line: `python -m course <command>`.

  doctor      check the install: versions, device, online/offline, packaged model, data
  run         execute every notebook headless into build/ (the course's main job)
  site        build the course website build/site/ from the executed notebooks (offline)
  strip       strip outputs from notebooks (before committing)
  sync-links  rewrite Colab badges, setup cells and the README map from course/meta.py
              (--ref TAG pins them to a git tag or branch)
  train       fine-tune an embedding model (see notebook 06; works under accelerate launch)
  timings     per-section run times of the executed copies in build/; --minutes: the README's minutes rule
  warm        before a class: run and cache the named notebooks' slow steps, list cells still over 30 s
  wheelhouse  every pinned package as a wheel, with checksums, for `make setup-offline WHEELS=DIR`
  student     student copies without solutions (build/student/) and full ones (build/solutions/)
  progress    your exercises: a table per notebook, the total, the next one (--json, --nbgrader)

An expected failure (bad data file, model not available, out of memory, ...) prints one line
`error: ...` with the fix and exits with status 2; Ctrl-C exits with 130. Anything else is a
bug in the course and shows its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time

COMMANDS = ("doctor", "run", "strip", "sync-links", "train", "student", "progress", "timings", "warm",
            "wheelhouse")


def doctor() -> int:
    """Print what the course will use here; an error line if something a notebook needs is broken."""
    import course

    t0 = time.perf_counter()
    print(course.banner())
    print(f"  profile and network decided in {time.perf_counter() - t0:.2f} s")
    model = course.load_embedder()
    vec = model.encode(["A zebra is a horse in pyjamas."])
    print(f"  model {course.DEFAULT_MODEL}: embedding {vec.shape[1]} dims, loaded and used "
          f"in {time.perf_counter() - t0:.1f} s")
    for name, load in (("corpus", course.load_corpus), ("nli", lambda: course.load_nli(split=None)),
                       ("sts", lambda: course.load_sts(split=None))):
        print(f"  data {name}: {len(load())} rows")
    print("doctor: all good")
    return 0


def run(argv: list[str]) -> int:
    from course.env import profile_name
    from course.nbtools import ROOT
    from course.runner import run_all

    ap = argparse.ArgumentParser(prog="python -m course run", description=run.__doc__)
    ap.add_argument("notebooks", nargs="*", help="substrings of notebook names (default: all)")
    ap.add_argument("--profile", choices=["smoke", "cpu", "gpu"], default=None,
                    help="default: COURSE_PROFILE, else gpu with CUDA, else cpu")
    ap.add_argument("--out", default=str(ROOT / "build"))
    args = ap.parse_args(argv)
    prof = args.profile or profile_name()
    t0 = time.perf_counter()
    results = run_all(prof, args.notebooks, out_dir=__import__("pathlib").Path(args.out))
    failed = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} notebooks ran in profile {prof} "
          f"in {time.perf_counter() - t0:.0f} s; executed copies in {args.out}/ "
          f"(read them as a website: python -m course site)")
    return 1 if failed else 0


def strip(argv: list[str]) -> int:
    import nbformat

    from course.nbtools import notebooks
    from course.nbtools import strip as strip_nb

    for path in [__import__("pathlib").Path(p) for p in argv] or notebooks():
        nb = nbformat.read(path, as_version=4)
        if strip_nb(nb):
            nbformat.write(nb, path)
            print(f"stripped {path}")
    return 0


def sync_links(argv: list[str]) -> int:
    """Regenerate the notebooks' Colab badges and setup cells and the README's course map."""
    from course import meta
    from course.nbtools import known_ref, notebooks, set_branch, sync_ending, sync_readme
    from course.nbtools import sync_links as sync

    ap = argparse.ArgumentParser(prog="python -m course sync-links", description=sync_links.__doc__)
    ap.add_argument("--ref", help=f"git tag or branch that Colab opens and pip installs (default: "
                    f"BRANCH in course/meta.py, now {meta.BRANCH!r}); it becomes the new BRANCH")
    args = ap.parse_args(argv)
    ref = meta.check_ref(meta.BRANCH if args.ref is None else args.ref)
    if set_branch(ref):
        print(f"course/meta.py: BRANCH = {ref!r}")
    for path in notebooks():
        if sync(path, ref):
            print(f"updated links in {path}")
        if sync_ending(path):
            print(f"updated the progress cell and next-notebook link at the end of {path}")
    if sync_readme(ref=ref):
        print("updated the course map in README.md")
    print(f"Colab badges and install lines point at {ref!r}" + ("" if known_ref(ref) is not False else
          f"; it is no tag or branch here yet: commit, then `git tag {ref}` and `git push origin {ref}`"))
    return 0


def expected_failure(err: BaseException) -> str | None:
    """The one-line message for a failure the learner can fix, or None for a bug in the course.

    Expected: every course error (course.env.CourseError: bad data, missing model, failed
    save, unknown profile) and running out of memory (CUDA or RAM), also when wrapped.
    """
    from course.env import CourseError

    chain, seen = [], err  # the error and what it was explicitly raised from
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__
    oom = next((e for e in chain if type(e).__name__ == "OutOfMemoryError" or isinstance(e, MemoryError)),
               None)
    if isinstance(err, CourseError):
        message = str(err)
    elif oom is err:
        message = (f"out of memory ({str(err).strip().splitlines()[0] if str(err).strip() else 'RAM'}); "
                   "use a smaller --batch-size or --max-seq-length")
    elif oom is not None:
        message = str(err)  # the course wrapped it with advice (course.training.oom_advice)
    else:
        return None
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> int:
    """Run one command; expected failures become one `error: ...` line and exit status 2."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return dispatch(argv)
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except Exception as err:
        message = expected_failure(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


def dispatch(argv: list[str]) -> int:
    """Call the command named by argv[0] with the rest of argv."""
    cmd, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if cmd == "doctor":
        return doctor()
    if cmd == "run":
        return run(rest)
    if cmd == "strip":
        return strip(rest)
    if cmd == "sync-links":
        return sync_links(rest)
    if cmd == "site":
        from course.site import cli as site_cli

        return site_cli(rest)
    if cmd == "train":
        from course.training import cli

        return cli(rest)
    if cmd in ("student", "progress", "timings", "warm", "wheelhouse"):  # each module has its own cli(argv)
        from importlib import import_module

        return import_module(f"course.{cmd}").cli(rest)
    if cmd in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    print(f"error: unknown command {cmd!r}; the commands are {', '.join(COMMANDS)} "
          "(python -m course --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

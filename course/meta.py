"""The course's public address, kept in this one place.

README badges and every notebook's badge and Colab install line are generated from REPO and
BRANCH by `python -m course sync-links`; a test fails if any of them drifts.
`python -m course sync-links --ref v1.0` pins them (and BRANCH below) to a tag or branch, so a
class opens on Colab exactly the release it was taught with.
"""

from __future__ import annotations

import re

from course.env import CourseError

REPO = "embedding-course/embedding-course"  # GitHub owner/name
BRANCH = "main"  # the git ref (branch or tag) that badges and install lines point at
PACKAGE = "embedding-course"

# Letters, digits and . _ - / only: the ref goes into a URL path and a quoted pip specifier.
_REF_CHARS = re.compile(r"[A-Za-z0-9._/-]+")


def ref_problem(ref: str) -> str | None:
    """Why `ref` cannot be a tag or branch in a Colab link and a pip specifier; None if it can.

    The rules are git's (`git check-ref-format`) narrowed to characters that a URL path and a
    quoted pip requirement carry unchanged.
    """
    if not ref.strip():
        return "is empty"
    if not _REF_CHARS.fullmatch(ref):
        bad = sorted({c for c in ref if not _REF_CHARS.fullmatch(c)})
        return f"contains {' '.join(repr(c) for c in bad)}; use letters, digits and . _ - / only"
    if ref.startswith(("-", "/")) or ref.endswith(("/", ".")):
        return "starts with '-' or '/', or ends with '/' or '.'"
    if ".." in ref or "//" in ref:
        return "contains '..' or '//'"
    parts = ref.split("/")
    if any(p.startswith(".") or p.endswith(".lock") for p in parts):
        return "has a part that starts with '.' or ends with '.lock'"
    return None


def check_ref(ref: str) -> str:
    """`ref` itself if it is a usable tag or branch name, else one CourseError that says why."""
    problem = ref_problem(ref)
    if problem:
        raise CourseError(f"--ref {ref!r} {problem}: name a git tag or branch, e.g. --ref v1.0 or --ref main.")
    return ref


def github_url() -> str:
    return f"https://github.com/{REPO}"


def colab_url(notebook: str, ref: str | None = None) -> str:
    """Open-in-Colab link for a notebook path relative to the repo root, at `ref` (default BRANCH)."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH if ref is None else ref}/{notebook}"


def colab_badge(notebook: str, ref: str | None = None) -> str:
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook, ref)})")


def pip_spec(ref: str | None = None) -> str:
    """What the Colab setup cell installs (quoted in the cell, so the shell leaves it alone)."""
    return f"{PACKAGE} @ git+https://github.com/{REPO}@{BRANCH if ref is None else ref}"

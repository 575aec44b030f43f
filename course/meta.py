"""The course's public address, kept in this one place.

README badges and every notebook's badge and Colab install line are generated from REPO by
`python -m course sync-links`; a test fails if any of them drifts.
"""

REPO = "embedding-course/embedding-course"  # GitHub owner/name
BRANCH = "main"
PACKAGE = "embedding-course"


def github_url() -> str:
    return f"https://github.com/{REPO}"


def colab_url(notebook: str) -> str:
    """Open-in-Colab link for a notebook path relative to the repo root."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{notebook}"


def colab_badge(notebook: str) -> str:
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook)})")


def pip_spec() -> str:
    """What the Colab setup cell installs (quoted in the cell, so the shell leaves it alone)."""
    return f"{PACKAGE} @ git+https://github.com/{REPO}@{BRANCH}"

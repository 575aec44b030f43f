"""Helpers for the embedding-models course: one import keeps every notebook cell short.

    import course
    P = course.profile()        # smoke | cpu | gpu sizes, device, online/offline
    model = course.load_embedder()
    corpus = course.load_corpus()

Heavy libraries (torch, sentence-transformers, datasets) load on first use, not on import.
"""

from course import cache, viz
from course.datasets import DataError, load_corpus, load_nli, load_queries, load_sts
from course.env import (
    Profile,
    artifacts_dir,
    banner,
    device,
    in_colab,
    is_online,
    profile,
    seed_everything,
    setup_plotting,
)
from course.models import DEFAULT_MODEL, ModelUnavailableError, load_embedder

__all__ = [
    "DEFAULT_MODEL", "DataError", "artifacts_dir", "cache", "ModelUnavailableError", "Profile", "banner", "device",
    "in_colab", "is_online", "load_corpus", "load_embedder", "load_nli", "load_queries", "load_sts",
    "profile", "seed_everything", "setup_plotting", "viz",
]

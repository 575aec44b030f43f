"""Test-wide settings: the smoke profile, and never a network wait (the course is offline here)."""

import os

os.environ.setdefault("COURSE_PROFILE", "smoke")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

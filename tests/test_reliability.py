"""Every public entry point answers bad input with one line, and no run destroys a learner's work.

One table: entry point x bad input -> the one-line message, the exit status (command line) or
the exception (Python), and nothing that existed before is changed. Each case runs in a fresh
workspace (the learner's folder, with a model a previous cpu run trained and one a smoke run
left) whose every file is hashed before and after. The next bad input found is one more row.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import course
from course import env, models
from course import training as tr
from course import triplets as tx
from course.__main__ import main
from course.datasets import DataError
from course.models import ModelSaveError, ModelUnavailableError, NotAModelError

ROOT = Path(__file__).resolve().parent.parent
MODEL = Path("artifacts/models/minilm-course-nli")  # what `make course` (cpu) trained
SMOKE_MODEL = Path("artifacts/smoke/models/minilm-course-nli")  # what a smoke run left
NLI_HEADER = "premise,hypothesis,label\n"
PAIR = "A dog sleeps on the porch.,An animal is resting.,entailment\n"


@dataclass(frozen=True)
class Case:
    entry: str  # what the learner called or typed
    bad: str  # the bad input, in words
    message: str  # regex that the one-line message must match
    run: Callable[[Path], object]  # Python: the call; command line: returns argv
    status: int | None = None  # exit status of `python -m course ...`; None: a Python call
    raises: type[BaseException] = DataError  # what a Python call raises
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None
    process: bool = False  # run the command in a real subprocess (only cases without patches)
    output: Path | None = None  # the folder this run is meant to (re)write; everything else stays


# ---------------------------------------------------------------- building blocks of the cases

def files(texts: dict[str, str]):
    """A setup that writes text files (relative path -> text) into the workspace."""
    def setup(ws: Path, mp: pytest.MonkeyPatch) -> None:
        for name, text in texts.items():
            path = ws / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return setup


def env_var(name: str, value: str):
    return lambda ws, mp: mp.setenv(name, value)


class PartialSave:
    """A model whose save writes one file and then fails as `error` does (full disk, Ctrl-C)."""

    def __init__(self, error: BaseException):
        self.error = error

    def save(self, path: str) -> None:
        (Path(path) / "config.json").write_text("{")
        raise self.error


class SavesFine:
    """A trained model stand-in that saves one file."""

    def save(self, path: str) -> None:
        (Path(path) / "modules.json").write_text("[]")


def trained(result=None, error: BaseException | None = None):
    """A setup that replaces the training run by one that returns `result` as the trained model
    or raises `error` (no training time); the command line around it runs for real."""
    def fake_train(cfg, triplets, model=None, progress=True):  # tr.train's signature
        if error is not None:
            raise error
        return tr.TrainResult(result, cfg, [], 0.1, 2)
    return lambda ws, mp: mp.setattr(tr, "train", fake_train)


def cuda_oom_wrapped():
    """What course.training.train raises when CUDA runs out of memory: advice, caused by the OOM."""
    import torch

    try:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    except torch.OutOfMemoryError as oom:
        try:
            raise RuntimeError(tr.oom_advice(tr.preset("smoke"), 64)) from oom
        except RuntimeError as err:
            return err


def oom_setup(wrapped: bool):
    def setup(ws, mp):
        import torch

        error = cuda_oom_wrapped() if wrapped else torch.OutOfMemoryError("CUDA out of memory.")
        trained(error=error)(ws, mp)
    return setup


def both(*setups):
    def setup(ws, mp):
        for s in setups:
            s(ws, mp)
    return setup


TINY = "tiny-model"  # a tiny random BERT in the workspace, for commands that load a model
NOT_A_MODEL = files({"my_model/notes.txt": "my notes, not a model"})
HALF_SAVED = files({"half/modules.json": '[{"idx": 0, "name": "0", "path": "", '
                    '"type": "sentence_transformers.sentence_transformer.modules.Transformer"}]',
                    "half/config.json": '{"model_type": "bert"}'})


CASES = {
    # ---- loaders: one DataError naming file, line and fix
    "nli csv unclosed quote": Case(
        "course.load_nli(path)", "CSV, a quote never closed on line 3",
        r"^mine\.csv, line 3: a quoted field opened on this line is never closed\. Close the quote",
        lambda ws: course.load_nli("mine.csv"),
        setup=files({"mine.csv": NLI_HEADER + PAIR + '"A cat purrs.,A cat is loud.,contradiction\n' + PAIR})),
    "nli csv quote runs on": Case(
        "course.load_nli(path)", "CSV, a quote on line 2 closed on line 3 (swallows a row)",
        r"^mine\.csv, line 2: a quoted field opened on this line runs on to line 3\.",
        lambda ws: course.load_nli("mine.csv"),
        setup=files({"mine.csv": NLI_HEADER + 'A,"B,entailment\nC,D",contradiction\n'})),
    "nli csv extra field": Case(
        "course.load_nli(path)", "CSV, an unquoted comma inside a sentence",
        r"^mine\.csv, line 2: 4 field\(s\) where the header has 3 \(comma-separated\)\. Put text that "
        r"contains a comma in double quotes",
        lambda ws: course.load_nli("mine.csv"),
        setup=files({"mine.csv": NLI_HEADER + "A dog, asleep.,An animal rests.,entailment\n"})),
    "nli csv mixed delimiters": Case(
        "course.load_nli(path)", "CSV, header separated by ; but rows by commas",
        r"^mine\.csv, line 2: 1 field\(s\) where the header has 3 \(semicolon-separated\)",
        lambda ws: course.load_nli("mine.csv"),
        setup=files({"mine.csv": "premise;hypothesis;label\n" + PAIR})),
    "nli csv not utf-8": Case(
        "course.load_nli(path)", "CSV saved as Latin-1",
        r"^mine\.csv: is not UTF-8 text\. Save it as UTF-8",
        lambda ws: course.load_nli("mine.csv"),
        setup=lambda ws, mp: (ws / "mine.csv").write_bytes((NLI_HEADER + "Caf\xe9 open.,x,entailment\n")
                                                             .encode("latin-1"))),
    "nli csv header only": Case(
        "course.load_nli(path)", "CSV with a header and no rows",
        r"^mine\.csv: has a header but no rows\.", lambda ws: course.load_nli("mine.csv"),
        setup=files({"mine.csv": NLI_HEADER})),
    "nli jsonl bad label": Case(
        "course.load_nli(path)", "JSONL, label 'yes'",
        r"^mine\.jsonl, line 1: unknown label 'yes'\. Use one of entailment, neutral, contradiction",
        lambda ws: course.load_nli("mine.jsonl"),
        setup=files({"mine.jsonl": '{"premise": "A", "hypothesis": "B", "label": "yes"}\n'})),
    "nli missing file": Case(
        "course.load_nli(path)", "a file name that does not exist",
        r"^'nosuch\.jsonl' is neither an existing file \(there is no .*nosuch\.jsonl\) nor a Hugging "
        r"Face dataset id .*: pass the path of a \.jsonl or \.csv file, or a hub id",
        lambda ws: course.load_nli("nosuch.jsonl")),
    "nli hub id offline": Case(
        "course.load_nli(hub id)", "a hub id while offline",
        r"^Dataset 'sentence-transformers/all-nli' is not a local file and needs the Hugging Face "
        r"Hub, which is not reachable \(offline\): pass the path of a \.jsonl or \.csv file, or "
        r"source='course'", lambda ws: course.load_nli("sentence-transformers/all-nli")),
    "sts csv score not a number": Case(
        "course.load_sts(path)", "CSV, score 'high'",
        r"^pairs\.csv, line 3: column 'score' is 'high'\. Expected an integer or a number",
        lambda ws: course.load_sts("pairs.csv"),
        setup=files({"pairs.csv": "sentence1,sentence2,score\nA cat.,A kitten.,4.5\nA dog.,A car.,high\n"})),
    "sts score out of range": Case(
        "course.load_sts(path)", "JSONL, score 7 on the 0-5 scale",
        r"^pairs\.jsonl, line 1: score 7 is outside 0-5\.", lambda ws: course.load_sts("pairs.jsonl"),
        setup=files({"pairs.jsonl": '{"sentence1": "a", "sentence2": "b", "score": 7}\n'})),
    "corpus wrong format": Case(
        "course.load_corpus(path)", "a .txt file",
        r"^notes\.txt: is not a \.jsonl or \.csv file \(suffix '\.txt'\)\. Save it as JSON lines",
        lambda ws: course.load_corpus("notes.txt"), setup=files({"notes.txt": "A dog barks.\n"})),
    "corpus missing file": Case(
        "course.load_corpus(path)", "a file name that does not exist",
        r"^'corpus\.csv' is not an existing file .*: pass the path of a \.jsonl or \.csv file with "
        r"columns id, topic, text, or 'course'", lambda ws: course.load_corpus("corpus.csv")),
    "queries unknown id": Case(
        "course.load_queries(path)", "CSV, a relevant id that is not in the corpus",
        r"^queries\.csv, line 2: relevant ids \['c999'\] are not corpus ids\.",
        lambda ws: course.load_queries("queries.csv"),
        setup=files({"queries.csv": "id,query,relevant\nq1,Why do dogs pant?,c001 c999\n"})),
    "own nli file unclosed quote": Case(
        "triplets.triplets_from_file(path)", "CSV, a quote never closed (was 'unknown label None')",
        r"^mine\.csv, line 2: a quoted field opened on this line is never closed\.",
        lambda ws: tx.triplets_from_file("mine.csv"),
        setup=files({"mine.csv": NLI_HEADER + '"A cat purrs.,A cat is loud.,contradiction\n' + PAIR})),
    "own nli file semicolons, wrong column": Case(
        "triplets.read_nli_file(path)", "semicolon CSV whose label column is named verdict",
        r"^mine\.csv, line 1: missing column\(s\) \['label'\]; the header has \['premise', 'hypothesis', "
        r"'verdict'\] \(read as semicolon-separated\)\. Rename them or pass premise=",
        lambda ws: tx.read_nli_file("mine.csv"),
        setup=files({"mine.csv": "premise;hypothesis;verdict\nA;B;yes\n"})),
    # ---- models
    "folder without a model": Case(
        "course.load_embedder(folder)", "a folder with no saved model in it",
        r"^my_model holds no saved sentence-transformers model: a folder written by model\.save\(folder\) "
        r"contains modules\.json, config_sentence_transformers\.json, config\.json",
        lambda ws: course.load_embedder("my_model"), raises=NotAModelError, setup=NOT_A_MODEL),
    "half-saved model folder": Case(
        "course.load_embedder(folder)", "a folder whose weights were never written",
        r"^half holds an incomplete model \(.*\): save it again with model\.save\(folder\)",
        lambda ws: course.load_embedder("half"), raises=NotAModelError, setup=HALF_SAVED),
    "hub model offline": Case(
        "course.load_embedder(id)", "a hub id while offline",
        r"^Model 'no/such-model' is not a local folder and needs the Hugging Face Hub, which is not "
        r"reachable \(offline\); offline the course can load sentence-transformers/all-MiniLM-L6-v2 or",
        lambda ws: course.load_embedder("no/such-model"), raises=ModelUnavailableError),
    "save on a full disk": Case(
        "models.save_atomic(model, folder)", "the disk fills up midway through the save",
        r"^Could not save the model to .*minilm-course-nli \(No space left on device\); the previous "
        r"model there, if any, is unchanged",
        lambda ws: models.save_atomic(PartialSave(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))),
                                      ws / MODEL), raises=ModelSaveError),
    "save interrupted": Case(
        "models.save_atomic(model, folder)", "Ctrl-C midway through the save",
        "^$", lambda ws: models.save_atomic(PartialSave(KeyboardInterrupt()), ws / MODEL),
        raises=KeyboardInterrupt),
    "unknown profile": Case(
        "course.profile()", "COURSE_PROFILE=turbo",
        r"^COURSE_PROFILE='turbo' is not a course profile; use one of smoke, cpu, gpu\.",
        lambda ws: course.profile(), raises=env.ProfileError, setup=env_var("COURSE_PROFILE", "turbo")),
    # ---- the command line: one `error: ...` line, exit status 2
    "train, hub model offline": Case(
        "python -m course train", "--model no/such-model (offline)",
        r"^error: Model 'no/such-model' is not a local folder and needs the Hugging Face Hub",
        lambda ws: ["train", "--model", "no/such-model", "--no-eval"], status=2),
    "train, folder without a model": Case(
        "python -m course train", "--model <a folder with no model>",
        r"^error: my_model holds no saved sentence-transformers model",
        lambda ws: ["train", "--model", "my_model", "--no-eval"], status=2, setup=NOT_A_MODEL),
    "train, bad triplets file": Case(
        "python -m course train", "notebook 05's triplets file damaged on line 2",
        r"^error: .*course_train\.jsonl, line 2: not valid JSON .*\. Write one JSON object per line",
        lambda ws: ["train", "--no-eval"], status=2,
        setup=files({"artifacts/smoke/triplets/course_train.jsonl":
                     '{"anchor": "a", "positive": "b", "negative": "c"}\n{"anchor": \n'})),
    "train, no triplets": Case(
        "python -m course train", "--train-rows 0",
        r"^error: No training triplets \(train_rows=0, or mining kept none\)",
        lambda ws: ["train", "--model", TINY, "--train-rows", "0", "--no-eval"], status=2),
    "train, bad batch size": Case(
        "python -m course train", "--batch-size 1",
        r"^error: Bad training config: batch_size=1: MNRL needs at least 2",
        lambda ws: ["train", "--batch-size", "1"], status=2),
    "train, CUDA out of memory": Case(
        "python -m course train", "the GPU runs out of memory while training",
        r"^error: CUDA ran out of memory at batch size 64 .* Either halve the batch",
        lambda ws: ["train", "--model", TINY, "--no-eval"], status=2, setup=oom_setup(wrapped=True)),
    "train, out of memory unwrapped": Case(
        "python -m course train", "an out-of-memory error the course did not wrap",
        r"^error: out of memory \(CUDA out of memory\.\); use a smaller --batch-size",
        lambda ws: ["train", "--model", TINY, "--no-eval"], status=2, setup=oom_setup(wrapped=False)),
    "train, disk full while saving": Case(
        "python -m course train", "the disk fills up while saving the trained model",
        r"^error: Could not save the model to .*smoke/models/minilm-course-nli \(No space left on "
        r"device\); the previous model there, if any, is unchanged",
        lambda ws: ["train", "--model", TINY, "--no-eval"], status=2,
        setup=trained(PartialSave(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))),
    "train, Ctrl-C while saving": Case(
        "python -m course train", "Ctrl-C while saving the trained model",
        r"^error: interrupted \(Ctrl-C\)$", lambda ws: ["train", "--model", TINY, "--no-eval"],
        status=130, setup=trained(PartialSave(KeyboardInterrupt()))),
    "train --profile smoke keeps the cpu model": Case(
        "python -m course train", "--profile smoke in a shell whose default is cpu (runs, status 0)",
        r"saved to .*artifacts/smoke/models/minilm-course-nli$",
        lambda ws: ["train", "--profile", "smoke", "--model", TINY, "--no-eval"], status=0,
        setup=both(env_var("COURSE_PROFILE", "cpu"), trained(SavesFine())), output=SMOKE_MODEL),
    "run, no such notebook": Case(
        "python -m course run", "a name no notebook has",
        r"^error: No notebook matches \['nosuch'\]; the notebooks are \['01_", lambda ws: ["run", "nosuch"],
        status=2, process=True),
    "doctor, unknown profile": Case(
        "python -m course doctor", "COURSE_PROFILE=turbo",
        r"^error: COURSE_PROFILE='turbo' is not a course profile; use one of smoke, cpu, gpu\.$",
        lambda ws: ["doctor"], status=2, setup=env_var("COURSE_PROFILE", "turbo"), process=True),
    "unknown command": Case(
        "python -m course", "a misspelt command",
        r"^error: unknown command 'trian'; the commands are doctor, run, strip, sync-links, train",
        lambda ws: ["trian"], status=2),
}


# ---------------------------------------------------------------- the workspace and the check

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "model"
    tr.random_bert(hidden=32, layers=1, heads=2).save(str(path))
    return path


@pytest.fixture
def workspace(tmp_path, monkeypatch, tiny_model) -> Path:
    """The learner's folder: artifacts with a cpu-trained and a smoke-run model, the cwd."""
    monkeypatch.delenv("COURSE_ARTIFACTS", raising=False)
    monkeypatch.setattr(env, "artifacts_root", lambda: tmp_path / "artifacts")
    monkeypatch.setenv("COURSE_PROFILE", os.environ.get("COURSE_PROFILE", "smoke"))  # restored after
    for folder in (MODEL, SMOKE_MODEL, Path(TINY)):
        shutil.copytree(tiny_model, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_command(argv: list[str], process: bool, capsys) -> tuple[int, str, str]:
    if process:
        out = subprocess.run([sys.executable, "-m", "course", *argv], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        return out.returncode, out.stdout, out.stderr
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_gets_one_line_and_destroys_nothing(case: Case, workspace, monkeypatch, capsys):
    if case.setup:
        case.setup(workspace, monkeypatch)
    before = snapshot(workspace)
    if case.status is None:
        with pytest.raises(case.raises) as err:
            case.run(workspace)
        message = str(err.value)
        assert "\n" not in message
    else:
        status, out, err = run_command(case.run(workspace), case.process, capsys)
        assert "Traceback" not in out + err
        errors = [line for line in (out + err).splitlines() if line.startswith("error:")]
        assert len(errors) == (1 if status else 0), out + err
        message = errors[0] if errors else out.strip().splitlines()[-1]
        assert status == case.status, out + err
    assert re.search(case.message, message), message
    after = snapshot(workspace)
    changed = [f for f, digest in before.items() if after.get(f) != digest
               and not (case.output and Path(f).is_relative_to(case.output))]
    assert not changed, f"overwritten or removed: {changed}"
    leftovers = [f for f in after if ".saving-" in f or ".old-" in f]
    assert not leftovers, f"a save left partial copies behind: {leftovers}"


def test_smoke_train_writes_under_artifacts_smoke(workspace, monkeypatch, capsys):
    """Issue 16, case 1: `train --profile smoke` saves beside, never over, the cpu model."""
    both(env_var("COURSE_PROFILE", "cpu"), trained(SavesFine()))(workspace, monkeypatch)
    assert main(["train", "--profile", "smoke", "--model", TINY, "--no-eval"]) == 0
    assert (workspace / SMOKE_MODEL / "modules.json").read_text() == "[]"
    assert course.load_embedder(str(workspace / MODEL)).get_embedding_dimension() == 32


def test_a_bug_in_the_course_keeps_its_traceback(workspace, monkeypatch):
    trained(error=ZeroDivisionError("a bug"))(workspace, monkeypatch)
    with pytest.raises(ZeroDivisionError):
        main(["train", "--model", TINY, "--no-eval"])


"""The classroom kit's cache (course.cache) and `python -m course warm` (course.warm)."""

import datetime as dt
import json

import nbformat
import pytest

from course import cache, warm
from course.env import CourseError


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A cache in a temporary artifacts folder, switched on (the tests run in the smoke profile)."""
    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("COURSE_CACHE", "1")
    monkeypatch.delenv(cache.WARM_VAR, raising=False)
    return tmp_path / "artifacts" / "cache"


class Counter:
    def __init__(self, value):
        self.calls, self.value = 0, value

    def __call__(self):
        self.calls += 1
        return self.value


def test_remember_computes_once_then_loads_and_says_when(store):
    said, step = [], Counter({"spearman": 0.81, "seeds": [0, 1, 2]})
    first = cache.remember("06 loss grid", step, echo=said.append, settings={"epochs": 1})
    second = cache.remember("06 loss grid", step, echo=said.append, settings={"epochs": 1})
    assert first == second == {"spearman": 0.81, "seeds": [0, 1, 2]} and step.calls == 1
    (entry,) = store.iterdir()
    assert entry.name.startswith("06-loss-grid-") and (entry / "value.json").is_file()
    assert said[0].startswith("06 loss grid: computed in 0 s and cached (the next run loads it; to recompute, delete ")
    today = dt.date.today().isoformat()
    assert said[1] == f"06 loss grid: loaded the result cached on {today} by an earlier run (it took 0 s to compute)"


def test_an_entry_stored_by_warm_says_so(store, monkeypatch):
    monkeypatch.setenv(cache.WARM_VAR, "1")
    cache.remember("04 reranker", Counter(1), echo=lambda _: None)
    monkeypatch.delenv(cache.WARM_VAR)
    said = []
    cache.remember("04 reranker", Counter(1), echo=said.append)
    assert "by `python -m course warm` (it took 0 s to compute)" in said[0]
    assert [e["name"] for e in cache.entries()] == ["04 reranker"] and cache.entries(since=9e9) == []
    found = cache.lookup("04 reranker", Counter(1))
    assert found["by"] == "`python -m course warm`" and found["folder"] == cache.entries()[0]["folder"]
    assert cache.lookup("04 reranker", Counter(1), settings={"epochs": 2}) is None


def test_the_key_follows_inputs_and_code(store):
    import datasets

    step, quiet = Counter(1), (lambda _: None)
    rows = [{"anchor": "a dog", "positive": "a puppy"}]
    for data, settings in [(rows, {"lr": 1e-4}), (rows, {"lr": 1e-4}), (rows, {"lr": 2e-4}),
                           (datasets.Dataset.from_list(rows), {"lr": 1e-4}),
                           (datasets.Dataset.from_list(rows + rows), {"lr": 1e-4})]:
        cache.remember("step", step, echo=quiet, data=data, settings=settings)
    assert step.calls == 4  # only the repeated call loads
    cache.remember("step", lambda: 1, echo=quiet, data=rows, settings={"lr": 1e-4})  # other code: computes
    assert len(list(store.iterdir())) == 5


def _in_cell(cell_text, name="step"):
    """Define a function as IPython does for a notebook cell: a pseudo-file whose text linecache holds."""
    import linecache

    filename = f"/tmp/ipykernel_0/{abs(hash(cell_text))}.py"
    linecache.cache[filename] = (len(cell_text), None, cell_text.splitlines(True), filename)
    space = {}
    exec(compile(cell_text, filename, "exec"), space)
    return space[name]


def test_a_step_written_in_a_notebook_cell_is_keyed_by_the_whole_cell(store):
    cell = "def step():\n    return 1\nlearning_rate = {}  # used elsewhere in the cell\n"
    same, again, edited = _in_cell(cell.format("1e-4")), _in_cell(cell.format("1e-4")), _in_cell(cell.format("2e-4"))
    assert cache.key("s", same) == cache.key("s", again) != cache.key("s", edited)
    helper = _in_cell(cell.format("3e-4"))  # a function passed as an input is keyed by its code as well
    assert cache.key("s", same, run_one=helper) != cache.key("s", same, run_one=same)


def test_training_arguments_key_by_settings_not_by_output_folder(store, tmp_path):
    from sentence_transformers import SentenceTransformerTrainingArguments as Args

    step = Counter(1)
    for out in ("a", "b"):
        args = Args(output_dir=str(tmp_path / out), num_train_epochs=1, report_to="none")
        cache.remember("train", step, echo=lambda _: None, args=args)
    assert step.calls == 1


def test_a_model_trained_in_place_is_stored_and_loaded(store):
    import torch

    def fresh():
        torch.manual_seed(0)
        return torch.nn.Linear(3, 2)

    model = fresh()

    def train():
        with torch.no_grad():
            model.weight.add_(1.0)
        return {"loss": 0.5}

    assert cache.remember("fit", train, model=model, echo=lambda _: None) == {"loss": 0.5}
    trained = model.weight.detach().clone()
    model = fresh()  # the same starting weights, in a new session
    assert cache.remember("fit", train, model=model, echo=lambda _: None) == {"loss": 0.5}
    assert torch.equal(model.weight, trained)
    model = fresh()
    with torch.no_grad():
        model.weight.mul_(2)  # other starting weights: another entry, trained afresh
    cache.remember("fit", train, model=model, echo=lambda _: None)
    assert len(list(store.iterdir())) == 2


def test_values_json_cannot_hold_are_pickled(store):
    import numpy as np
    import pandas as pd

    table = pd.DataFrame({"loss": ["mnrl", "triplet"], "acc": [0.9, 0.8]})
    for value in (table, np.arange(4.0), ("a", 1)):
        step = Counter(value)
        for _ in range(2):
            got = cache.remember(f"v {type(value).__name__}", step, echo=lambda _: None)
        assert step.calls == 1 and type(got) is type(value) and repr(got) == repr(value)
    assert len(list(store.glob("*/value.pkl"))) == 3


def test_an_entry_that_no_longer_loads_is_computed_again(store):
    step, said = Counter(("a", 1)), []
    cache.remember("old", step, echo=said.append)
    (pkl,) = store.glob("*/value.pkl")
    pkl.write_bytes(b"not a pickle")  # e.g. written by another pandas version
    assert cache.remember("old", step, echo=said.append) == ("a", 1) and step.calls == 2
    assert "does not load here (UnpicklingError" in said[1] and said[1].endswith("computing it again")
    assert cache.remember("old", step, echo=said.append) == ("a", 1) and step.calls == 2  # replaced: loads


def test_a_failed_step_stores_nothing(store):
    def broken():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.remember("slow", broken, echo=lambda _: None)
    assert not store.exists() or not any(store.glob("*/info.json"))


def test_off_in_smoke_and_with_course_cache_0(store, monkeypatch):
    step, said = Counter(1), []
    monkeypatch.setenv("COURSE_CACHE", "0")
    cache.remember("s", step, echo=said.append)
    cache.remember("s", step, echo=said.append)
    monkeypatch.delenv("COURSE_CACHE")
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    cache.remember("s", step, echo=said.append)
    assert step.calls == 3 and not store.exists()
    assert said[0] == "s: computed in 0 s (cache off: COURSE_CACHE=0 or smoke profile)"
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert cache.enabled()


def test_an_input_it_cannot_key_or_a_result_it_cannot_store_gets_one_clear_error(store):
    with pytest.raises(CourseError, match=r"cannot key the input settings\['loss'\] of type object: pass settings"):
        cache.remember("x", Counter(1), settings={"loss": object()})
    with pytest.raises(CourseError, match=r"cannot store what 'gen' returned \(generator: .*\); return numbers"):
        cache.remember("gen", Counter(i for i in range(3)))
    assert not any(store.glob("*/info.json"))


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_warm_caches_reruns_and_lists_what_is_still_slow(tmp_path, monkeypatch):
    """End to end with real kernels: the first run stores the slow step, the rerun loads it, and
    only the uncacheable slow cell is reported."""
    for var, value in (("COURSE_CLASSROOM", "0"), ("HF_HUB_OFFLINE", "1"), ("COURSE_PROFILE", "smoke")):
        monkeypatch.setenv(var, value)  # warm changes these: the fixture puts them back
    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("COURSE_CACHE", raising=False)
    monkeypatch.delenv(cache.WARM_VAR, raising=False)
    path = _notebook(tmp_path / "04_demo.ipynb",
                     "import os, time\nfrom course import cache\nprint(os.environ['COURSE_CLASSROOM'])",
                     "result = cache.remember('04 demo', lambda: time.sleep(2) or 42)",
                     "time.sleep(1.5)  # a live demo that no cache can shorten")
    monkeypatch.setattr(warm, "notebooks", lambda: [path])
    said = []
    assert warm.warm(["04"], tmp_path / "build", limit=1.0, echo=said.append) == 0
    assert said[0].startswith("[1/1] 04_demo.ipynb: ran in ") and said[0].endswith("cached 1 result(s): 04 demo (2 s)")
    assert said[1].startswith("      rerun from the cache: ok in ")
    assert said[2].startswith("      cells over 1 s in class: ") and "[3] 2 s time.sleep(1.5)" in said[2], said
    assert "cache.remember" not in said[2]  # loaded from the cache in the rerun: fast
    executed = nbformat.read(tmp_path / "build" / "04_demo.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "1\n"
    today = dt.date.today().isoformat()
    assert executed.cells[1].outputs[0]["text"] == (
        f"04 demo: loaded the result cached on {today} by `python -m course warm` (it took 2 s to compute)\n")
    (info,) = (tmp_path / "artifacts").glob("cache/*/info.json")
    assert json.loads(info.read_text())["profile"] == "cpu"


def test_warm_needs_notebook_names(capsys):
    from course.__main__ import main

    assert main(["warm"]) == 2
    assert "Name the notebooks of the class, e.g. `python -m course warm 04 06 08`" in capsys.readouterr().err

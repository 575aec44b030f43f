"""The course's own data: schema, balance, no duplicates, no train/test leakage."""

import re
from collections import Counter, defaultdict

import pytest

import course
from course.datasets import NLI_LABELS
from course.triplets import mine_triplets


@pytest.fixture(scope="module")
def corpus():
    return course.load_corpus().to_list()


@pytest.fixture(scope="module")
def nli():
    return course.load_nli(split=None).to_list()


@pytest.fixture(scope="module")
def sts():
    return course.load_sts(split=None).to_list()


def norm(text):
    return " ".join(text.lower().split())


def test_corpus_size_topics_and_balance(corpus):
    topics = Counter(r["topic"] for r in corpus)
    assert len(corpus) >= 300 and len(topics) >= 8
    assert {"dogs", "cats", "horses", "zebras"} <= set(topics)
    assert max(topics.values()) - min(topics.values()) <= 4
    for topic in topics:
        splits = Counter(r["split"] for r in corpus if r["topic"] == topic)
        assert set(splits) == {"train", "test"} and splits["test"] >= 4


def test_corpus_has_no_duplicates(corpus):
    texts = [norm(r["text"]) for r in corpus]
    assert len(set(texts)) == len(texts)


def test_nli_schema(nli):
    for r in nli:
        assert re.fullmatch(r"n[ab]\d{4}", r["id"]) and re.fullmatch(r"p[ab]\d{3}", r["premise_id"])
        assert r["id"][1] == r["premise_id"][1]  # na rows belong to pa premises (animals), nb to pb
        assert r["split"] in {"train", "test"} and r["label"] in NLI_LABELS
        assert r["hypothesis"].strip() == r["hypothesis"] and r["hypothesis"][-1] in ".!?"


def test_nli_shape_and_balance(nli):
    premises = defaultdict(Counter)
    for r in nli:
        premises[r["premise_id"]][r["label"]] += 1
    assert len(nli) >= 1000 and len(premises) >= 220
    series = Counter(pid[:2] for pid in premises)  # pa: animals and nature, pb: everyday life
    assert set(series) == {"pa", "pb"} and abs(series["pa"] - series["pb"]) <= 4
    # two entailments and two contradictions per premise: four triplets each, none left over
    assert all(c["entailment"] >= 2 and c["contradiction"] >= 2 for c in premises.values())
    with_neutral = sum(c["neutral"] > 0 for c in premises.values())
    assert with_neutral >= len(premises) // 2
    counts = Counter(r["label"] for r in nli)
    assert min(counts.values()) >= 0.15 * len(nli)
    assert abs(counts["entailment"] - counts["contradiction"]) <= 0.05 * len(nli)


def test_nli_no_duplicates_and_consistent_premises(nli):
    pairs = [(norm(r["premise"]), norm(r["hypothesis"])) for r in nli]
    assert len(set(pairs)) == len(pairs)
    assert all(p != h for p, h in pairs)
    hypotheses = Counter(h for _, h in pairs)
    assert [h for h, n in hypotheses.items() if n > 1] == []  # every hypothesis written once
    text_of = {}
    for r in nli:
        assert text_of.setdefault(r["premise_id"], r["premise"]) == r["premise"]
    assert len(set(text_of.values())) == len(text_of)


def test_nli_split_by_premise_without_leakage(nli):
    split_of = defaultdict(set)
    for r in nli:
        split_of[r["premise_id"]].add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    # the documented rule: premises whose number is a multiple of 4 are the test split
    assert all(s == {"test" if int(pid[2:]) % 4 == 0 else "train"} for pid, s in split_of.items())
    train = {norm(r["premise"]) for r in nli if r["split"] == "train"}
    test = {norm(r["premise"]) for r in nli if r["split"] == "test"}
    assert test and not train & test
    train_h = {norm(r["hypothesis"]) for r in nli if r["split"] == "train"}
    test_h = {norm(r["hypothesis"]) for r in nli if r["split"] == "test"}
    assert not train_h & test_h
    assert not (train_h & test) and not (test_h & train)  # no sentence crosses as a premise


def test_nli_yields_enough_triplets_for_a_measurable_gain():
    """Notebook 06 trains on the train split's triplets and judges the gain on the test
    split's: at least 600 and 200 of them, counted the way the course mines them."""
    train, train_report = mine_triplets(course.load_nli(split="train"))
    test, test_report = mine_triplets(course.load_nli(split="test"))
    assert len(train) >= 600 and len(test) >= 200
    assert train_report.kept_premises == train_report.premises  # no premise left unused
    assert test_report.kept_premises == test_report.premises
    assert not set(train["anchor"]) & set(test["anchor"])


def test_sts_size_categories_and_range(sts):
    assert len(sts) >= 200
    cats = Counter(r["category"] for r in sts)
    assert set(cats) == {"paraphrase", "partial", "unrelated", "negation"}
    assert min(cats.values()) >= 30
    golds = [r["gold"] for r in sts]
    assert min(golds) == 0 and max(golds) == 5
    assert all((g * 2).is_integer() for g in golds)
    for split in ("dev", "test"):
        assert set(r["category"] for r in sts if r["split"] == split) == set(cats)


def test_sts_negation_pairs_score_low(sts):
    neg = [r["gold"] for r in sts if r["category"] == "negation"]
    para = [r["gold"] for r in sts if r["category"] == "paraphrase"]
    assert max(neg) <= 2.0 < 3.5 <= min(para)


def test_sts_no_duplicate_pairs_or_leakage(sts):
    pairs = [frozenset((norm(r["sentence1"]), norm(r["sentence2"]))) for r in sts]
    assert len(set(pairs)) == len(pairs)
    dev = {s for r in sts if r["split"] == "dev" for s in (norm(r["sentence1"]), norm(r["sentence2"]))}
    test = {s for r in sts if r["split"] == "test" for s in (norm(r["sentence1"]), norm(r["sentence2"]))}
    assert not dev & test

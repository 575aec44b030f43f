"""The rerank set (course/data/rerank.jsonl): schema, balance, no duplicates, no leakage, and
hard enough that the bi-encoder alone leaves room for a reranker."""

import json
import re
from collections import Counter
from difflib import SequenceMatcher

import numpy as np
import pytest

import course
from course import sbert as sb


@pytest.fixture(scope="module")
def rows():
    return sb.load_rerank().to_list()


def norm(text):
    return " ".join(text.lower().split())


def test_size_kinds_and_splits(rows):
    assert len(rows) >= 100
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == set(sb.RERANK_KINDS) and min(kinds.values()) >= 20
    for kind in sb.RERANK_KINDS:
        splits = Counter(r["split"] for r in rows if r["kind"] == kind)
        assert set(splits) == {"train", "test"} and splits["test"] >= 8 and splits["train"] >= 12
    assert all(len(r["distractors"]) >= 3 for r in rows)


def test_no_duplicate_texts_or_near_duplicate_queries(rows):
    queries = [norm(r["query"]) for r in rows]
    assert len(set(queries)) == len(queries)
    passages = [norm(t) for r in rows for t in (r["positive"], *r["distractors"])]
    assert len(set(passages)) == len(passages), "a passage appears twice: relevance would be ambiguous"
    for i, a in enumerate(queries):
        for b in queries[i + 1:]:
            assert SequenceMatcher(None, a, b).ratio() < 0.9, (a, b)


def test_no_passage_is_shared_between_train_and_test(rows):
    train = {norm(t) for r in rows if r["split"] == "train" for t in (r["positive"], *r["distractors"])}
    test = {norm(t) for r in rows if r["split"] == "test" for t in (r["positive"], *r["distractors"])}
    assert not train & test


def test_number_rows_change_the_number_and_order_rows_share_words(rows):
    with_digits = 0
    for r in rows:
        if r["kind"] == "number":  # a number named in the query is repeated by the answer
            digits = [w for w in r["query"].replace("?", "").split() if any(c.isdigit() for c in w)]
            assert all(d in r["positive"] for d in digits), r["id"]
            with_digits += bool(digits)
        if r["kind"] == "order":  # a distractor reuses most of the answer's words, reordered
            words = set(re.findall(r"[a-z0-9']+", r["positive"].lower()))
            shared = max(len(words & set(re.findall(r"[a-z0-9']+", d.lower()))) for d in r["distractors"])
            assert shared / len(words) >= 0.4, r["id"]
    assert with_digits >= 20


def test_bi_encoder_leaves_room_on_held_out_queries(rows):
    model = course.load_embedder(device="cpu")
    test = sb.load_rerank(split="test")
    corpus = sb.passages(rows)
    emb = model.encode(corpus, convert_to_tensor=True, normalize_embeddings=True)
    from sentence_transformers.util import semantic_search

    hits = semantic_search(model.encode(test["query"], convert_to_tensor=True, normalize_embeddings=True),
                           emb, top_k=10)
    rr = [sb.reciprocal_rank([corpus[h["corpus_id"]] for h in row], r["positive"])
          for row, r in zip(hits, test, strict=True)]
    assert np.mean(rr) <= 0.85  # hard for a single vector
    assert np.mean([x > 0 for x in rr]) >= 0.9  # but the answer is in the top 10: rerankable


def test_loader_names_file_line_and_fix(tmp_path):
    good = {"id": "a", "query": "q", "positive": "p", "distractors": ["d"], "kind": "number", "split": "train"}
    cases = [({**good, "distractors": []}, "non-empty list"),
             ({**good, "distractors": ["p"]}, "also listed"),
             ({**good, "kind": "colour"}, "unknown kind"),
             ({k: v for k, v in good.items() if k != "positive"}, "missing column")]
    for row, message in cases:
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(good) + "\n" + json.dumps({**row, "id": "b"}) + "\n")
        with pytest.raises(course.DataError, match=message) as err:
            sb.load_rerank(path=path)
        assert "line 2" in str(err.value) and str(path) in str(err.value)
    with pytest.raises(course.DataError, match="no rows in split"):
        sb.load_rerank(split="dev")

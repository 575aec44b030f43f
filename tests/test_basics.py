import numpy as np
import pytest
import torch

import course
from course import basics
from course.exercises import basics as ex


@pytest.fixture(scope="module")
def model():
    return course.load_embedder()


def test_mean_pool_by_hand_equals_model(model):
    texts = ["a dog", "a much longer sentence about a sleepy cat on a mat"]
    tok, mask = basics.token_embeddings(model, texts)
    assert mask[0].sum() < mask[1].sum()  # the short one is padded
    pooled = torch.nn.functional.normalize(basics.mean_pool(tok, mask), dim=-1).numpy()
    assert np.allclose(pooled, model.encode(texts), atol=1e-5)


def test_mean_pool_ignores_padding():
    tok = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.allclose(basics.mean_pool(tok, mask), torch.tensor([[2.0, 2.0]]))


def test_search_ranks_the_right_topic_first(model):
    texts = ["Horses need their hooves trimmed.", "Bake the bread for forty minutes.", "Cats purr."]
    emb = model.encode(texts, convert_to_tensor=True)
    table = basics.search(model, "hoof care for my pony", texts, emb, k=2, topics=["h", "c", "k"])
    assert list(table["topic"])[0] == "h" and len(table) == 2
    assert table["cosine"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="query is empty"):
        basics.search(model, "  ", texts, emb)


def test_category_gaps_means_intervals_and_chart(model):
    sts = course.load_sts(split="dev").to_pandas().rename(columns={"score": "human"})
    sts["model"] = basics.pair_cosines(model, sts["sentence1"], sts["sentence2"])
    summary = basics.category_gaps(sts)
    assert set(summary.index) == {"paraphrase", "partial", "unrelated", "negation"}
    assert summary["n"].sum() == len(sts)
    assert summary["gap"].is_monotonic_decreasing
    para = sts[sts.category == "paraphrase"]
    assert summary.loc["paraphrase", "model"] == pytest.approx(para["model"].mean(), abs=1e-3)
    assert (summary["model_low"] <= summary["model"]).all() and (summary["model"] <= summary["model_high"]).all()
    assert summary.loc["paraphrase", "model"] > summary.loc["unrelated", "model"]
    fig = basics.gap_chart(summary)
    assert [t.name for t in fig.data] == ["human", "model"]
    assert fig.data[1].error_y.array is not None and fig.layout.legend.title.text
    with pytest.raises(ValueError, match="model"):
        basics.category_gaps(sts.drop(columns="model"))


@pytest.mark.parametrize("word, target", [("grazing", "grazes"), ("grazed", "grazes"), ("graze", "grazes"),
                                          ("Zebras", "zebra"), ("savannah", "savanna"), ("grazer", "grazes")])
def test_other_forms_of_a_word_count_as_reuse(word, target):
    assert any(ex.same_stem(ex.stem(w), t) for w in ex.words(word) for t in ex.content_words(target))


def test_paraphrase_check(model, capsys):
    assert ex.check_paraphrase(..., model).passed is False
    assert "Not attempted" in capsys.readouterr().out
    assert ex.check_paraphrase("Zebras eat grass.", model).passed is False
    assert "reused ['zebras']" in capsys.readouterr().out
    assert ex.check_paraphrase("The striped horse is grazing on African plains.", model).passed is False
    assert "['grazing']" in capsys.readouterr().out
    assert ex.check_paraphrase("Interest rates went up.", model).passed is False
    assert ex.check_paraphrase("Striped wild horses eat grass on African plains.", model).passed is True


@pytest.fixture(scope="module")
def corpus(model):
    c = course.load_corpus()
    texts, topics = list(c["text"]), list(c["topic"])
    return texts, topics, model.encode(texts, convert_to_tensor=True)


def test_search_check_judges_the_learners_hits(model, corpus, capsys):
    from sentence_transformers import util

    texts, topics, emb = corpus
    query = "Which instrument should a beginner learn first?"
    hits = util.semantic_search(model.encode(query, convert_to_tensor=True), emb, top_k=3)
    assert ex.check_search(..., ..., model, emb, texts, topics).passed is False
    assert "Not attempted" in capsys.readouterr().out
    assert ex.check_search(query, hits, model, emb, texts, topics).passed is False
    assert "take the first one, [0]" in capsys.readouterr().out
    assert ex.check_search(query, hits[0][:2], model, emb, texts, topics).passed is False
    assert "top_k=3" in capsys.readouterr().out
    assert ex.check_search(texts[0], hits[0], model, emb, texts, topics).passed is False
    assert "corpus sentence" in capsys.readouterr().out
    other = util.semantic_search(model.encode("my dog loves the rain", convert_to_tensor=True), emb, top_k=3)[0]
    assert ex.check_search(query, other, model, emb, texts, topics).passed is False
    assert "not the nearest" in capsys.readouterr().out
    dog_query = "How often should I walk my puppy?"
    dog_hits = util.semantic_search(model.encode(dog_query, convert_to_tensor=True), emb, top_k=3)[0]
    assert ex.check_search(dog_query, dog_hits, model, emb, texts, topics).passed is False
    assert "about music" in capsys.readouterr().out
    assert ex.check_search(query, hits[0], model, emb, texts, topics).passed is True
    assert "[music]" in capsys.readouterr().out

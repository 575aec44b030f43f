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


def test_category_means_keep_each_scale_with_intervals_and_chart(model):
    sts = course.load_sts(split="dev").to_pandas()
    sts["cosine"] = basics.pair_cosines(model, sts["sentence1"], sts["sentence2"])
    summary = basics.category_means(sts)
    assert set(summary.index) == {"paraphrase", "partial", "unrelated", "negation"}
    assert summary["n"].sum() == len(sts)
    assert summary["gold"].is_monotonic_decreasing and "gap" not in summary.columns
    para = sts[sts.category == "paraphrase"]
    assert summary.loc["paraphrase", "cosine"] == pytest.approx(para["cosine"].mean(), abs=1e-3)
    assert summary.loc["paraphrase", "gold"] == pytest.approx(para["gold"].mean(), abs=1e-3)
    assert summary["gold"].max() > 1  # the 0-5 rubric scale, not divided by 5
    for col in ("gold", "cosine"):
        assert (summary[f"{col}_low"] <= summary[col]).all() and (summary[col] <= summary[f"{col}_high"]).all()
    assert summary.loc["paraphrase", "cosine"] > summary.loc["unrelated", "cosine"]
    fig = basics.category_chart(summary)
    assert len(fig.data) == 2 and fig.data[0].yaxis != fig.data[1].yaxis  # two panels, two scales
    assert fig.layout.yaxis.range[1] > 5 and fig.layout.yaxis2.range[1] <= 1.05
    assert fig.data[1].error_y.array is not None
    with pytest.raises(ValueError, match="cosine"):
        basics.category_means(sts.drop(columns="cosine"))


def test_spearman_ci_is_a_rank_correlation_with_an_interval():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = x + rng.normal(scale=0.5, size=60)
    rho, low, high = basics.spearman_ci(x, y)
    assert rho == pytest.approx(spearmanr(x, y).statistic)
    assert low < rho < high and high - low < 0.3
    assert basics.spearman_ci(x, np.exp(x))[0] == pytest.approx(1.0)  # ranks only: any increasing map is 1
    with pytest.raises(ValueError, match="same length"):
        basics.spearman_ci(x, y[:10])


def test_text_past_max_seq_length_does_not_change_the_embedding(model):
    long_text = " ".join(["The horse trotted around the paddock."] * 60)
    assert len(model.tokenizer(long_text, verbose=False)["input_ids"]) > model.max_seq_length
    assert model.preprocess([long_text])["input_ids"].shape[1] == model.max_seq_length
    base = model.encode(long_text)
    assert np.allclose(model.encode(long_text + " Zebras are striped."), base, atol=1e-6)
    assert not np.allclose(model.encode("Zebras are striped. " + long_text), base, atol=1e-3)


def test_max_seq_length_above_the_position_table_fails(model):
    import copy

    big = copy.deepcopy(model)
    big.max_seq_length = big[0].auto_model.config.max_position_embeddings + 100
    with pytest.raises(RuntimeError):
        big.encode(" ".join(["horse"] * 700))


def test_encode_query_and_document_add_the_named_prompts(model):
    from sentence_transformers import SentenceTransformer

    name = course.models.resolve("sentence-transformers/all-MiniLM-L6-v2")
    q = "Which horse breed suits a beginner rider?"
    assert np.array_equal(model.encode_query(q), model.encode(q))  # no prompts: the same vector
    e5 = SentenceTransformer(name, device="cpu", prompts={"query": "query: ", "document": "passage: "})
    assert np.allclose(e5.encode_query(q), model.encode("query: " + q), atol=1e-5)
    assert np.allclose(e5.encode_document(q), model.encode("passage: " + q), atol=1e-5)
    passage_named = SentenceTransformer(name, device="cpu", prompts={"query": "query: ", "passage": "passage: "})
    assert passage_named.prompts["document"] == ""  # the trap notebook 01 shows
    assert np.allclose(passage_named.encode_document(q), model.encode(q), atol=1e-5)


def test_prompts_check(model, capsys):
    from sentence_transformers import SentenceTransformer

    name = course.models.resolve("sentence-transformers/all-MiniLM-L6-v2")
    bge = SentenceTransformer(name, device="cpu", prompts={"query": ex.BGE_QUERY})
    q, p = ex.PROMPT_QUESTION, ex.PROMPT_PASSAGE
    right = (bge.encode_query(q), bge.encode_document(p))
    assert ex.check_prompts(..., model).passed is False
    assert "Not attempted" in capsys.readouterr().out
    assert ex.check_prompts(right[0], model).passed is False
    assert "a pair" in capsys.readouterr().out
    assert ex.check_prompts((bge.encode_query([q, p]), right[1]), model).passed is False
    assert "one vector" in capsys.readouterr().out
    assert ex.check_prompts((model.encode(q), right[1]), model).passed is False
    assert "without the instruction" in capsys.readouterr().out
    assert ex.check_prompts((right[0], bge.encode_query(p)), model).passed is False
    assert "encode_document" in capsys.readouterr().out
    assert ex.check_prompts((right[1], right[0]), model).passed is False
    assert "swapped" in capsys.readouterr().out
    assert ex.check_prompts((model.encode("query: " + q), right[1]), model).passed is False
    assert "not the vectors" in capsys.readouterr().out
    assert ex.check_prompts(right, model).passed is True
    assert ex.check_prompts((bge.encode_query(q, convert_to_tensor=True), right[1]), model).passed is True
    assert "cosine" in capsys.readouterr().out


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

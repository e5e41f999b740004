"""Token lengths under a submission's tokenizer: special tokens in, padding out, ≤ 512."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from evaluator.benchmark import get_task
from evaluator.cost.token_lengths import load_tokenizer, reference_tokenizer_dir, token_lengths
from evaluator.data import load_test_set
from evaluator.errors import SubmissionInvalid
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.tokenizer_files import WRITERS, deberta_v3_tokenizer

DATA_DIR = ELUE_DATA_DIR

LONG = "word " * 1000


@pytest.fixture(scope="module")
def bert_uncased():
    return load_tokenizer(reference_tokenizer_dir())


def copy_tokenizer(directory: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(reference_tokenizer_dir() / name, directory / name)
    return directory


def test_it_counts_special_tokens_of_single_sentences_and_pairs(bert_uncased):
    # [CLS] hello world [SEP] / [CLS] hello world [SEP] x y [SEP]
    lengths = token_lengths(bert_uncased, [("Hello world",), ("Hello world", "x y")])
    assert lengths.tolist() == [4, 7]
    assert lengths.dtype == np.int64


def test_it_ignores_the_padding_saved_in_tokenizer_json(bert_uncased):
    # all-MiniLM's tokenizer.json pads every input to 128 tokens and truncates there.
    saved = json.loads((reference_tokenizer_dir() / "tokenizer.json").read_text())
    assert saved["padding"]["strategy"] == {"Fixed": 128}
    assert token_lengths(bert_uncased, [("Hi",), (LONG,)]).tolist() == [3, 512]


def test_it_truncates_at_max_length_pairs_included(bert_uncased):
    texts = [(LONG,), (LONG, "short one"), (LONG, LONG), ("a b c",)]
    assert token_lengths(bert_uncased, texts, 512).tolist() == [512, 512, 512, 5]
    assert token_lengths(bert_uncased, texts, 20).tolist() == [20, 20, 20, 5]


def test_it_loads_vocabulary_files_without_tokenizer_json(tmp_path, bert_uncased):
    copy_tokenizer(tmp_path, "vocab.txt", "tokenizer_config.json")
    texts = [("Hello world",), ("A rather longer sentence, isn't it?", "Yes.")]
    assert token_lengths(load_tokenizer(tmp_path), texts).tolist() == \
        token_lengths(bert_uncased, texts).tolist()


class PythonOnly:
    """A tokenizer with no Rust backend (only the ``__call__`` API)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, *args, **kwargs):
        return self.tokenizer(*args, **kwargs)


def test_it_handles_tokenizers_without_a_rust_backend(bert_uncased):
    texts = [("Hello world",), ("Hello world", "x y"), (LONG, LONG)]
    assert token_lengths(PythonOnly(bert_uncased), texts).tolist() == [4, 7, 512]


def test_it_refuses_tokenizers_that_need_custom_code(tmp_path):
    copy_tokenizer(tmp_path, "vocab.txt", "tokenizer.json")
    config = json.loads((reference_tokenizer_dir() / "tokenizer_config.json").read_text())
    config["auto_map"] = {"AutoTokenizer": ["tokenization_mine.MyTokenizer", None]}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(SubmissionInvalid) as error:
        load_tokenizer(tmp_path)
    [problem] = error.value.problems
    assert (problem.code, problem.file) == ("unsupported_tokenizer", "tokenizer_config.json")


def test_it_explains_a_missing_tokenizer(tmp_path):
    with pytest.raises(SubmissionInvalid) as error:
        load_tokenizer(tmp_path)
    assert error.value.problems[0].code == "bad_tokenizer"


@pytest.mark.slow
@pytest.mark.parametrize(("slug", "mean", "longest"), [
    ("sst-2", 24.77, 64), ("snli", 27.44, 76), ("scitail", 39.23, 86),
    ("mrpc", 52.98, 104), ("sts-b", 27.53, 81),
])
def test_it_measures_the_real_test_sets(bert_uncased, slug, mean, longest):
    test_set = load_test_set(DATA_DIR, get_task(slug), with_labels=False)
    lengths = token_lengths(bert_uncased, test_set.texts)
    assert len(lengths) == get_task(slug).test_size
    assert (round(float(lengths.mean()), 2), int(lengths.max())) == (mean, longest)


@pytest.fixture(scope="module")
def real_examples() -> list[tuple[str, ...]]:
    """Sentence pairs (MRPC, SNLI) and single sentences (SST-2) of the real test sets."""
    examples = []
    for slug, count in (("mrpc", 400), ("snli", 200), ("sst-2", 200)):
        examples += load_test_set(DATA_DIR, get_task(slug), with_labels=False).texts[:count]
    return examples


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_lengths_equal_what_auto_tokenizer_gives(tmp_path, real_examples, name):
    """SentencePiece (ALBERT, DeBERTa-v3, XLM-R, CamemBERT), MPNet's WordPiece and a
    byte-level BPE tokenizer.json: lengths as ``AutoTokenizer(..., truncation=True,
    max_length=512)`` gives them for the same files, pairs included, and truncated."""
    from transformers import AutoTokenizer

    folder = WRITERS[name](tmp_path / name)
    auto = AutoTokenizer.from_pretrained(str(folder))
    for limit in (512, 24):
        expected = [len(auto(*texts, truncation=True, max_length=limit)["input_ids"])
                    for texts in real_examples]
        assert token_lengths(load_tokenizer(folder), real_examples, limit).tolist() == expected
    assert max(expected) == 24 and min(expected) < 24  # truncation was exercised


def test_it_loads_a_sentencepiece_model_with_its_own_library(tmp_path):
    # The package that reads spiece.model / spm.model is installed (it was not: such
    # tokenizers were refused with advice to install an unrelated library).
    tokenizer = load_tokenizer(deberta_v3_tokenizer(tmp_path))
    encoded = tokenizer("A fine film.", "Yes.")
    assert encoded["token_type_ids"][-1] == 1 and encoded["input_ids"][0] == \
        tokenizer.cls_token_id

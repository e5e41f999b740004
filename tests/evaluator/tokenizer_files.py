"""Tokenizer files of the architectures researchers submit, made here (no model hub).

SentencePiece models are trained with the ``sentencepiece`` package on sentences of the real
test sets (a few hundred pieces: enough for lengths to behave like real ones); MPNet gets
bert-base-uncased's WordPiece vocabulary with MPNet's special tokens, ModernBERT a small
byte-level BPE ``tokenizer.json`` trained with ``tokenizers``. Each writer puts the files in
a folder as ``save_pretrained`` would, so that ``AutoTokenizer`` (and the platform) load them.

    >>> deberta_v3_tokenizer(folder)          # spm.model + tokenizer_config.json
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

from evaluator.benchmark import TASKS
from evaluator.cost.token_lengths import reference_tokenizer_dir
from evaluator.data import load_test_set
from tests.conftest import ELUE_DATA_DIR

VOCABULARY = 800
TRAINING_EXAMPLES = 400  # per task


@cache
def training_sentences() -> tuple[str, ...]:
    """Sentences of the real SST-2, MRPC and SNLI test sets."""
    sentences = []
    for slug in ("sst-2", "mrpc", "snli"):
        texts = load_test_set(ELUE_DATA_DIR, TASKS[slug], with_labels=False).texts
        sentences += [s for example in texts[:TRAINING_EXAMPLES] for s in example]
    return tuple(sentences)


@cache
def sentencepiece_model(kind: str) -> bytes:
    """A ``unigram`` or ``bpe`` SentencePiece model, with ALBERT/DeBERTa's special pieces."""
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(training_sentences()), model_writer=model,
        vocab_size=VOCABULARY, model_type=kind, pad_id=0, unk_id=1, bos_id=2, eos_id=3,
        pad_piece="[PAD]", unk_piece="[UNK]", bos_piece="[CLS]", eos_piece="[SEP]",
        user_defined_symbols=["[MASK]"], minloglevel=2)
    return model.getvalue()


def _sentencepiece_folder(folder: Path, file: str, kind: str, config: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_bytes(sentencepiece_model(kind))
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def albert_tokenizer(folder: Path) -> Path:
    """ALBERT's ``spiece.model`` (unigram)."""
    return _sentencepiece_folder(folder, "spiece.model", "unigram",
                                 {"tokenizer_class": "AlbertTokenizer", "do_lower_case": True})


def deberta_v3_tokenizer(folder: Path) -> Path:
    """DeBERTa-v3's ``spm.model`` (unigram), which gives segment ids for pairs."""
    return _sentencepiece_folder(folder, "spm.model", "unigram",
                                 {"tokenizer_class": "DebertaV2Tokenizer"})


def xlm_roberta_tokenizer(folder: Path) -> Path:
    """XLM-RoBERTa's ``sentencepiece.bpe.model`` (a unigram model, despite the name)."""
    return _sentencepiece_folder(folder, "sentencepiece.bpe.model", "unigram",
                                 {"tokenizer_class": "XLMRobertaTokenizer"})


def camembert_tokenizer(folder: Path) -> Path:
    """CamemBERT's ``sentencepiece.bpe.model``."""
    return _sentencepiece_folder(folder, "sentencepiece.bpe.model", "unigram",
                                 {"tokenizer_class": "CamembertTokenizer"})


MPNET_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def mpnet_tokenizer(folder: Path) -> Path:
    """MPNet's WordPiece ``vocab.txt``: its four special tokens, bert-base-uncased's 30,522
    entries, then ``<mask>`` (30,527 in all, as mpnet-base)."""
    folder.mkdir(parents=True, exist_ok=True)
    words = (reference_tokenizer_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    (folder / "vocab.txt").write_text("\n".join([*MPNET_SPECIALS, *words, "<mask>"]) + "\n",
                                      encoding="utf-8")
    config = {"tokenizer_class": "MPNetTokenizer", "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def modernbert_tokenizer(folder: Path) -> Path:
    """ModernBERT-style ``tokenizer.json``: byte-level BPE with ``[CLS] a [SEP] b [SEP]``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(training_sentences(), trainers.BpeTrainer(
        vocab_size=VOCABULARY, special_tokens=specials, show_progress=False))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "cls_token": "[CLS]",
              "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
              "mask_token": "[MASK]", "model_input_names": ["input_ids", "attention_mask"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def bert_tokenizer(folder: Path) -> Path:
    """bert-base-uncased's WordPiece files (as shipped with all-MiniLM-L6-v2)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        shutil.copyfile(reference_tokenizer_dir() / name, folder / name)
    return folder


WRITERS = {
    "albert": albert_tokenizer, "deberta-v3": deberta_v3_tokenizer,
    "xlm-roberta": xlm_roberta_tokenizer, "camembert": camembert_tokenizer,
    "mpnet": mpnet_tokenizer, "modernbert": modernbert_tokenizer, "bert": bert_tokenizer,
}

"""Property: whatever values a config.json holds, the counter answers with a cost or a
reason (``SubmissionInvalid`` / ``EvaluationFailed``), never with another exception that
would reach the offline checker as a traceback or the worker as an internal error.

Each example is a small config of a supported architecture with one to three of its keys
set to values drawn from the awkward corners (zero, negative, huge, wrong type, lists where
numbers belong, unknown activation names, pruned heads that do not exist...). It goes
through what the checker and the worker run on a model definition: ``definition_costs``
(config, tokenizer, cost model fitted over the examples' lengths).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.benchmark import TASKS
from evaluator.cost.definition import definition_costs
from evaluator.cost.token_lengths import reference_tokenizer_dir
from evaluator.data import TestSet
from evaluator.errors import EvaluationFailed, SubmissionInvalid

pytestmark = pytest.mark.slow

_TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
         "intermediate_size": 64, "vocab_size": 30522, "max_position_embeddings": 64}
BASES = {
    "bert": {"model_type": "bert", **_TINY},
    "albert": {"model_type": "albert", **_TINY, "embedding_size": 16},
    "roberta": {"model_type": "roberta", **_TINY, "max_position_embeddings": 66,
                "pad_token_id": 1},
    "xlm-roberta": {"model_type": "xlm-roberta", **_TINY, "max_position_embeddings": 66,
                    "pad_token_id": 1},
    "distilbert": {"model_type": "distilbert", "dim": 32, "n_layers": 2, "n_heads": 2,
                   "hidden_dim": 64, "vocab_size": 30522, "max_position_embeddings": 64},
    "electra": {"model_type": "electra", **_TINY, "embedding_size": 16},
    "mobilebert": {"model_type": "mobilebert", **_TINY, "embedding_size": 16,
                   "intra_bottleneck_size": 16, "true_hidden_size": 16},
    "deberta-v2": {"model_type": "deberta-v2", **_TINY, "relative_attention": True,
                   "position_buckets": 16, "pos_att_type": ["p2c", "c2p"],
                   "share_att_key": True, "position_biased_input": False,
                   "norm_rel_ebd": "layer_norm", "type_vocab_size": 0},
    "mpnet": {"model_type": "mpnet", **_TINY, "max_position_embeddings": 66,
              "pad_token_id": 1},
    "modernbert": {"model_type": "modernbert", **_TINY, "num_hidden_layers": 3,
                   "local_attention": 8, "pad_token_id": 0, "bos_token_id": 101,
                   "eos_token_id": 102, "cls_token_id": 101, "sep_token_id": 102},
}
KEYS = sorted({
    "num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size",
    "vocab_size", "max_position_embeddings", "type_vocab_size", "hidden_act",
    "layer_norm_eps", "pad_token_id", "chunk_size_feed_forward", "pruned_heads",
    "position_embedding_type", "embedding_size", "num_hidden_groups", "inner_group_num",
    "dim", "n_layers", "n_heads", "hidden_dim", "sinusoidal_pos_embds",
    "intra_bottleneck_size", "true_hidden_size", "use_bottleneck", "num_feedforward_networks",
    "key_query_shared_bottleneck", "use_bottleneck_attention", "normalization_type",
    "trigram_input", "relative_attention", "position_buckets", "max_relative_positions",
    "pos_att_type", "share_att_key", "position_biased_input", "norm_rel_ebd",
    "attention_head_size", "conv_kernel_size", "relative_attention_num_buckets",
    "local_attention", "global_attn_every_n_layers", "layer_types", "classifier_pooling",
    "norm_bias", "hidden_activation", "rope_parameters", "num_labels", "torch_dtype",
    "tie_word_embeddings", "classifier_dropout", "is_decoder", "add_cross_attention",
})
AWKWARD = st.one_of(
    st.integers(min_value=-3, max_value=70),
    st.sampled_from([0, 1, 2, 3, 4, 5, 16, 17, 48, 49, 512, 10**6, 2**31, 2**63, -(2**40)]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.booleans(), st.none(), st.text(max_size=6),
    st.sampled_from(["gelu", "relu", "tanh", "swish", "nope", "absolute", "relative_key",
                     "cls", "mean", "p2c|c2p", "c2p", "layer_norm", "no_norm",
                     "sliding_attention", "full_attention", "float16", "bfloat16"]),
    st.lists(st.sampled_from(["p2c", "c2p", "x", "full_attention", "sliding_attention", 0, 1]),
             max_size=4),
    st.dictionaries(st.sampled_from(["0", "1", "2", "7", "x", "-1"]),
                    st.lists(st.integers(min_value=-1, max_value=3), max_size=3), max_size=2),
)
EXAMPLES = [("A fine, moving film.",), ("Two men walk.", "Some people are outside."),
            ("word " * 80,)]


def tiny_test_set() -> TestSet:
    return TestSet(TASKS["mrpc"], [e if len(e) == 2 else (e[0], e[0]) for e in EXAMPLES])


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(model_type=st.sampled_from(sorted(BASES)),
       changes=st.dictionaries(st.sampled_from(KEYS), AWKWARD, min_size=1, max_size=3))
def test_no_config_value_crashes_the_counter(tmp_path_factory, model_type, changes):
    folder = tmp_path_factory.mktemp("definition")
    write_definition(folder, {**BASES[model_type], **changes})
    try:
        costs = definition_costs(folder, [tiny_test_set()])
    except (SubmissionInvalid, EvaluationFailed) as refused:
        assert str(refused)  # a reason for the submitter
        return
    cost, lengths = costs["mrpc"]
    macs = cost.macs(lengths)
    assert all(isinstance(int(m), int) and 0 < m < 2**62 for m in macs)
    assert math.isfinite(cost.parameters())


def write_definition(folder, raw: dict) -> None:
    import json

    (folder / "config.json").write_text(json.dumps(raw, allow_nan=True), encoding="utf-8")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        (folder / name).write_bytes((reference_tokenizer_dir() / name).read_bytes())

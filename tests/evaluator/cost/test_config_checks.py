"""Configs transformers accepts but the platform cannot count or run faithfully: refused as
``bad_config`` with the key and the reason, never a traceback or an internal error."""

from __future__ import annotations

import pytest

from evaluator.cost.architectures import build_model, config_from_dict
from evaluator.cost.per_example import build_cost_model
from evaluator.errors import SubmissionInvalid
from tests.evaluator.configs import DEBERTA_V2_SMALL, MODERNBERT_BASE, MPNET_BASE, SMALL

MOBILEBERT = {**SMALL, "model_type": "mobilebert", "embedding_size": 32,
              "intra_bottleneck_size": 32, "true_hidden_size": 32}


def refusal(raw: dict) -> str:
    """The one ``bad_config`` message counting ``raw`` ends with."""
    with pytest.raises(SubmissionInvalid) as refused:
        build_cost_model(config_from_dict(raw, 2), [5, 20])
    [problem] = refused.value.problems
    assert (problem.code, problem.file) == ("bad_config", "config.json")
    return problem.message


@pytest.mark.parametrize(("raw", "key", "why"), [
    # The two crashes the issue found: both reached the counter as tracebacks.
    ({**SMALL, "chunk_size_feed_forward": 8}, "chunk_size_feed_forward", "set it to 0"),
    ({**MOBILEBERT, "key_query_shared_bottleneck": False}, "key_query_shared_bottleneck",
     "use_bottleneck_attention"),
    ({**SMALL, "position_embedding_type": "relative_key"}, "position_embedding_type",
     "only absolute position embeddings"),
    ({**DEBERTA_V2_SMALL, "conv_kernel_size": 3}, "conv_kernel_size", "convolution"),
    # Traces on the meta device (no index is checked) but fails on the first real token.
    ({**SMALL, "type_vocab_size": 0}, "type_vocab_size", "set it to 1 or more"),
    # transformers' own validation, with the key named.
    ({**MODERNBERT_BASE, "classifier_pooling": "max"}, "classifier_pooling", "'cls', 'mean'"),
    ({**MODERNBERT_BASE, "layer_types": ["full_attention"] * 3}, "layer_types",
     "must be equal to the number of `layer_types` (3)"),
])
def test_it_refuses_what_it_cannot_count_faithfully_naming_the_key(raw, key, why):
    message = refusal(raw)
    assert message.startswith(f'"{key}"') and why in message


def test_deberta_may_have_no_segment_embedding():
    config = config_from_dict({**DEBERTA_V2_SMALL, "type_vocab_size": 0}, 2)
    assert build_cost_model(config, [5, 20]).fitted


def test_a_mobilebert_whose_widths_agree_is_counted():
    # The same switch is fine when the attention gets its own bottleneck.
    config = config_from_dict({**MOBILEBERT, "key_query_shared_bottleneck": False,
                               "use_bottleneck_attention": True}, 2)
    assert build_cost_model(config, [5, 20]).fitted


@pytest.mark.parametrize(("raw", "key"), [
    ({**SMALL, "hidden_act": "nope"}, "hidden_act"),  # fails while building
    ({**DEBERTA_V2_SMALL, "attention_head_size": 7}, "attention_head_size"),  # while tracing
    ({**SMALL, "hidden_size": "wide"}, "hidden_size"),  # transformers' own validation
    ({**SMALL, "layer_norm_eps": "small"}, "layer_norm_eps"),
])
def test_it_names_the_key_to_blame_for_a_model_transformers_cannot_build(raw, key):
    message = refusal(raw)
    assert message.startswith(f'"{key}"'), message


def test_it_refuses_a_bad_config_when_building_it_directly():
    with pytest.raises(SubmissionInvalid, match='"hidden_act"'):
        build_model(config_from_dict({**SMALL, "hidden_act": "nope"}, 2))


@pytest.mark.parametrize(("pruned", "why"), [
    ({"0": [0, 1, 2, 3]}, "every head of layer 0"),
    ({"3": [0]}, "layer 3 does not exist"),
    ({"0": [4]}, "no head 4"),
    ({"zero": [1]}, "whole-number layer and head indices"),
    ([1, 2], "whole-number layer and head indices"),
])
def test_it_refuses_pruned_heads_the_model_does_not_have(pruned, why):
    assert why in refusal({**SMALL, "pruned_heads": pruned})


@pytest.mark.parametrize(("raw", "why"), [
    ({**SMALL, "model_type": "albert", "embedding_size": 32}, "shares one layer"),
    ({**MODERNBERT_BASE}, "fuses the query, key and value"),
    ({**MPNET_BASE}, "one relative-position bias per head"),
])
def test_it_explains_why_it_does_not_prune_some_architectures(raw, why):
    assert why in refusal({**raw, "pruned_heads": {"1": [0]}})

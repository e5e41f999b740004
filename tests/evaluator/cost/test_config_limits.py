"""Size limits read from config.json before anything is built: a 200-byte config cannot make
the checker or a worker build a thousand-layer model."""

from __future__ import annotations

import json

import pytest

from evaluator.cost import architectures
from evaluator.cost.architectures import build_model, config_from_dict, count_parameters
from evaluator.cost.config_limits import MAX_LAYERS, MAX_PARAMETERS, estimated_parameters
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from evaluator.errors import SubmissionInvalid
from tests.evaluator.configs import NEW_ARCHITECTURES, SMALL

STANDARD = {
    "bert-base": REFERENCE_CONFIG,
    "bert-large": {**REFERENCE_CONFIG, "hidden_size": 1024, "num_hidden_layers": 24,
                   "num_attention_heads": 16, "intermediate_size": 4096},
    "albert-base": {"model_type": "albert", "embedding_size": 128, "hidden_size": 768,
                    "num_attention_heads": 12, "intermediate_size": 3072,
                    "num_hidden_layers": 12, "vocab_size": 30000},
    "distilbert": {"model_type": "distilbert", "dim": 768, "n_layers": 6, "n_heads": 12,
                   "hidden_dim": 3072, "vocab_size": 30522},
    "electra-small": {"model_type": "electra", "embedding_size": 128, "hidden_size": 256,
                      "num_attention_heads": 4, "intermediate_size": 1024,
                      "num_hidden_layers": 12, "vocab_size": 30522},
    "mobilebert": {"model_type": "mobilebert", "vocab_size": 30522},
    **NEW_ARCHITECTURES,
}


@pytest.fixture
def nothing_is_built(monkeypatch):
    """Fail the test if transformers is asked for a config object or a model."""
    transformers = architectures.offline_transformers()

    def built(*args, **kwargs):
        raise AssertionError("a model or config was built for a config over the limits")

    monkeypatch.setattr(transformers.AutoConfig, "for_model", built)
    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_config", built)


@pytest.mark.parametrize(("key", "value"), [
    ("num_hidden_layers", 1000), ("num_hidden_layers", 10**12), ("hidden_size", 10**6),
    ("intermediate_size", 10**9), ("vocab_size", 10**10), ("max_position_embeddings", 10**7),
    ("num_attention_heads", 4096),
])
def test_it_refuses_sizes_over_the_limits_before_building_anything(nothing_is_built, key,
                                                                   value):
    raw = {**SMALL, key: value}
    assert len(json.dumps(raw)) < 250
    with pytest.raises(SubmissionInvalid) as refused:
        config_from_dict(raw, 2)
    [problem] = refused.value.problems
    assert problem.code == "model_too_large" and f'"{key}"' in problem.message


@pytest.mark.parametrize("value", [0, -1, 2.0, "12", True, None, [12]])
def test_it_refuses_sizes_that_are_not_whole_positive_numbers(nothing_is_built, value):
    with pytest.raises(SubmissionInvalid) as refused:
        config_from_dict({**SMALL, "num_hidden_layers": value}, 2)
    [problem] = refused.value.problems
    assert problem.code == "bad_config"
    assert f"from 1 to {MAX_LAYERS}" in problem.message


def test_it_accepts_the_largest_depth_it_allows():
    assert config_from_dict({**SMALL, "num_hidden_layers": MAX_LAYERS}, 2).num_hidden_layers \
        == MAX_LAYERS


def test_it_refuses_a_model_estimated_too_large_before_building_it(monkeypatch):
    # Every size within its range, but together 64 layers' worth of parameters too many.
    raw = {**REFERENCE_CONFIG, "hidden_size": 8192, "num_attention_heads": 64,
           "intermediate_size": 32768, "num_hidden_layers": 48}
    built = []
    monkeypatch.setattr(architectures, "_build", lambda *args: built.append(args))
    with pytest.raises(SubmissionInvalid) as refused:
        config_from_dict(raw, 2)
    [problem] = refused.value.problems
    assert problem.code == "model_too_large" and f"{MAX_PARAMETERS:,}" in problem.message
    assert built == []


@pytest.mark.parametrize("name", STANDARD)
def test_the_estimate_is_within_one_percent_of_the_real_count(name):
    config = config_from_dict(STANDARD[name], 2)
    real = count_parameters(build_model(config))
    assert abs(estimated_parameters(config) - real) <= 0.01 * real

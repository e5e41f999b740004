"""Building models from a submitted config.json: no weights, no submitter code."""

from __future__ import annotations

import json

import pytest

from evaluator.cost import architectures as architecture
from evaluator.cost.architectures import (
    build_model,
    check_size,
    config_from_dict,
    count_parameters,
    load_config,
    max_tokens,
)
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from evaluator.errors import SubmissionInvalid
from tests.evaluator.configs import SMALL


def write_config(directory, raw) -> None:
    (directory / "config.json").write_text(json.dumps(raw), encoding="utf-8")


def only_problem(error: pytest.ExceptionInfo) -> tuple[str, str | None]:
    [problem] = error.value.problems
    return problem.code, problem.file


def test_it_counts_bert_base_parameters():
    model = build_model(config_from_dict(REFERENCE_CONFIG, 2))
    assert count_parameters(model) == 109_483_778


def test_it_loads_a_config_from_a_directory_or_a_file(tmp_path):
    write_config(tmp_path, SMALL)
    for path in (tmp_path, tmp_path / "config.json"):
        config = load_config(path, num_labels=3)
        assert (config.model_type, config.hidden_size, config.num_labels) == ("bert", 64, 3)


def test_it_refuses_custom_code_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "modeling_mine.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    write_config(tmp_path, {**SMALL, "auto_map": {
        "AutoModelForSequenceClassification": "modeling_mine.MyModel"}})
    with pytest.raises(SubmissionInvalid) as error:
        load_config(tmp_path, 2)
    assert only_problem(error) == ("unsupported_architecture", "config.json")
    assert "auto_map" in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("model_type", ["llama", None, "my-own-bert"])
def test_it_refuses_architectures_it_does_not_support(tmp_path, model_type):
    write_config(tmp_path, {**SMALL, "model_type": model_type})
    with pytest.raises(SubmissionInvalid) as error:
        load_config(tmp_path, 2)
    assert only_problem(error) == ("unsupported_architecture", "config.json")


@pytest.mark.parametrize(("content", "code"), [
    (None, "missing_file"), ("{not json", "bad_config"), ("[1, 2]", "bad_config"),
])
def test_it_explains_unreadable_configs(tmp_path, content, code):
    if content is not None:
        (tmp_path / "config.json").write_text(content)
    with pytest.raises(SubmissionInvalid) as error:
        load_config(tmp_path, 2)
    assert only_problem(error) == (code, "config.json")


def test_it_refuses_a_config_transformers_cannot_build():
    config = config_from_dict({**SMALL, "hidden_size": 10, "num_attention_heads": 3}, 2)
    with pytest.raises(SubmissionInvalid) as error:
        build_model(config)
    assert only_problem(error) == ("bad_config", "config.json")


def test_it_refuses_models_too_large_to_trace(monkeypatch):
    monkeypatch.setattr(architecture, "MAX_PARAMETERS", 1_000)
    with pytest.raises(SubmissionInvalid) as error:
        check_size(build_model(config_from_dict(SMALL, 2)))
    assert only_problem(error)[0] == "model_too_large"


def test_it_truncates_to_k_layers():
    config = config_from_dict(SMALL, 2)
    assert len(build_model(config, num_layers=2).bert.encoder.layer) == 2
    assert config.num_hidden_layers == 3  # the original config is left alone


def test_it_truncates_distilbert_through_its_own_field_name():
    config = config_from_dict({"model_type": "distilbert", "dim": 64, "n_layers": 4,
                               "n_heads": 4, "hidden_dim": 128, "vocab_size": 1000}, 2)
    assert len(build_model(config, num_layers=1).distilbert.transformer.layer) == 1


def test_it_counts_shared_albert_layers_once():
    raw = {**SMALL, "model_type": "albert", "embedding_size": 32}
    one = count_parameters(build_model(config_from_dict(raw, 2), num_layers=1))
    assert count_parameters(build_model(config_from_dict(raw, 2))) == one


@pytest.mark.parametrize(("raw", "expected"), [
    (SMALL, 128),
    ({**SMALL, "max_position_embeddings": 1024}, 512),
    ({**SMALL, "model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": 1},
     512),
    ({**SMALL, "model_type": "roberta", "max_position_embeddings": 130, "pad_token_id": 1},
     128),
])
def test_it_truncates_inputs_at_512_or_the_models_maximum(raw, expected):
    assert max_tokens(config_from_dict(raw, 2)) == expected

"""Bundles with model code, weights and ``elue.json`` (kinds 3 and 4): validation only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.bundle.load import load_bundle
from evaluator.errors import SubmissionInvalid
from evaluator.evaluate import check_cost_source
from evaluator.running import sandbox
from tests.evaluator.builders import predictions
from tests.evaluator.custom_models import COST_EFF, multi_exit_model


def model_folder(root: Path, manifest: dict | None = None, weights: bool = True) -> Path:
    folder = multi_exit_model(root / "model", COST_EFF)
    if weights:
        (folder / "model.safetensors").write_bytes(b"{}")  # only listed, never read here
    if manifest is not None:
        (folder / "elue.json").write_text(json.dumps(manifest))
    return root


def problems(root: Path, tmp_path: Path) -> set[tuple[str, str | None]]:
    with pytest.raises(SubmissionInvalid) as refused:
        load_bundle(root, tmp_path / f"scratch-{len(list(tmp_path.iterdir()))}")
    return {(p.code, p.file) for p in refused.value.problems}


def test_it_accepts_a_model_to_run_without_prediction_files(tmp_path):
    root = model_folder(tmp_path / "bob", {"tasks": ["sts-b", "mrpc"], "thresholds": [0.2, 1]})
    bundle = load_bundle(root, tmp_path / "scratch")
    assert bundle.runs_model and bundle.points == []
    assert [t.slug for t in bundle.tasks] == ["mrpc", "sts-b"]
    assert bundle.model.manifest.thresholds == (0.2, 1.0)


def test_it_needs_a_manifest_to_know_what_to_run(tmp_path):
    found = problems(model_folder(tmp_path / "bob"), tmp_path)
    assert ("no_predictions", None) in found


def test_it_keeps_kind3_files_with_weights_as_predictions_to_check(tmp_path):
    root = model_folder(tmp_path / "carol", {"tasks": ["mrpc"]})
    (root / "mrpc.tsv").write_text(predictions("mrpc"))
    bundle = load_bundle(root, tmp_path / "scratch")
    assert not bundle.runs_model and bundle.model.runnable and len(bundle.points) == 1


@pytest.mark.parametrize("manifest, message", [
    ({"tasks": ["sst2"]}, "task names"),
    ({"tasks": []}, "non-empty"),
    ({"tasks": ["mrpc"], "thresholds": ["0.3"]}, "finite numbers"),
    ({"tasks": ["mrpc"], "thresholds": [0.3, 0.3]}, "distinct"),
    ({"tasks": ["mrpc"], "threshold": [0.3]}, "unknown key 'threshold'"),
])
def test_it_explains_a_bad_manifest(tmp_path, manifest, message):
    root = model_folder(tmp_path / "dan", manifest)
    with pytest.raises(SubmissionInvalid) as refused:
        load_bundle(root, tmp_path / "scratch")
    bad = [p for p in refused.value.problems if p.code == "bad_manifest"]
    assert bad and bad[0].file == "model/elue.json" and message in bad[0].message


def test_it_refuses_thresholds_for_a_standard_architecture(tmp_path):
    root = model_folder(tmp_path / "erin", {"tasks": ["mrpc"], "thresholds": [0.3]})
    (root / "model" / "model.py").unlink()
    config = {"model_type": "bert", "num_hidden_layers": 2}
    (root / "model" / "config.json").write_text(json.dumps(config))
    assert ("bad_manifest", "model/elue.json") in problems(root, tmp_path)


def test_it_refuses_pickled_weights_by_name(tmp_path):
    root = model_folder(tmp_path / "mallory", {"tasks": ["mrpc"]}, weights=False)
    (root / "model" / "weights.pt").write_bytes(b"\x80\x04")
    assert ("pickle_weights", "model/weights.pt") in problems(root, tmp_path)


def test_it_needs_model_py_next_to_other_code_and_a_depth(tmp_path):
    root = model_folder(tmp_path / "frank", {"tasks": ["mrpc"]})
    (root / "model" / "model.py").rename(root / "model" / "layers.py")
    assert ("model_incomplete", "model/config.json") in problems(root, tmp_path)
    (root / "model" / "layers.py").rename(root / "model" / "model.py")
    (root / "model" / "config.json").write_text("{}")
    assert ("bad_config", "model/config.json") in problems(root, tmp_path)


def test_it_refuses_code_where_nothing_can_sandbox_it(tmp_path, monkeypatch):
    root = model_folder(tmp_path / "grace", {"tasks": ["mrpc"]})
    bundle = load_bundle(root, tmp_path / "scratch")
    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "bwrap is not installed")
    with pytest.raises(SubmissionInvalid) as refused:
        check_cost_source(bundle)
    problem, = refused.value.problems
    assert problem.code == "custom_code_unsupported" and problem.file == "model.py"
    assert "bwrap is not installed" in problem.message
    check_cost_source(bundle, allow_unsandboxed=True)  # the operator's override


def test_it_keeps_the_segment_ids_the_tokenizer_gives(tmp_path):
    from evaluator.benchmark import TASKS
    from evaluator.bundle.model_files import read_model
    from evaluator.data import TestSet
    from evaluator.running.model_points import tokenize
    from tests.evaluator.tokenizer_files import WRITERS

    pairs = TestSet(TASKS["mrpc"], [("A fine film.", "Yes it is.")])
    found = {}
    for name, model_type in (("bert", "bert"), ("xlm-roberta", "xlm-roberta")):
        folder = WRITERS[name](tmp_path / name)
        (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
        model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "")
        assert problems == []
        found[name] = tokenize(model, {"mrpc": pairs})["mrpc"]
    bert = found["bert"]
    assert bert.type_ids == [[0] * 6 + [1] * 5] and bert.pad_type_id == 0
    assert bert.inputs([0]).type_ids == bert.type_ids
    assert found["xlm-roberta"].type_ids is None  # RoBERTa's tokenizers give none

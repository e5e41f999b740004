"""The offline checker, end to end on real ELUE data: `python -m evaluator check`."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys

import pytest

from evaluator.benchmark import get_task
from evaluator.checker import main
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from evaluator.cost.token_lengths import reference_tokenizer_dir
from tests.conftest import ELUE_DATA_DIR, REPO_DIR
from tests.evaluator.builders import (
    EXIT_LAYER_HEADER,
    PREDICTION_HEADER,
    predictions,
    true_labels,
    tsv,
    write,
    zip_folder,
)
from tests.evaluator.configs import (
    CAMEMBERT_BASE,
    DEBERTA_V3_XSMALL,
    MODERNBERT_BASE,
    MPNET_BASE,
    XLM_ROBERTA_BASE,
)
from tests.evaluator.tokenizer_files import WRITERS

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")
# A head (pooler + classifier, 2 labels) is 768² + 768·2 MACs: 2 × that in MFLOPs.
HEAD_MFLOPS = 2 * (768 * 768 + 768 * 2) / 1e6


def model_definition(folder, layers: int = 12):
    config = dict(REFERENCE_CONFIG, num_hidden_layers=layers)
    write(folder, "model/config.json", json.dumps(config))
    for name in TOKENIZER_FILES:
        shutil.copy(reference_tokenizer_dir() / name, folder / "model" / name)


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(a) for a in args], out=out)
    return code, out.getvalue()


def checked(bundle) -> dict:
    code, out = run("check", bundle, "--data", ELUE_DATA_DIR, "--json")
    assert code == 0, out
    return json.loads(out)


@pytest.mark.slow
def test_it_counts_a_truncated_model_at_the_reference_figure(tmp_path):
    bundle = tmp_path / "six-layers"
    model_definition(bundle, layers=6)
    write(bundle, "sst-2.tsv", predictions("sst-2"))
    point = checked(bundle)["tasks"][0]["points"][0]
    assert round(point["mflops"], 2) == 2119.41  # SPEC §3 check figure
    assert point["basis"] == "counted" and point["performance"] == 100.0
    assert round(point["difference"], 2) == 13.00  # 100 − 87.0 at the 6-layer reference point


@pytest.mark.slow
def test_it_charges_a_dynamic_point_its_layers_and_exit_heads(tmp_path):
    bundle = tmp_path / "elasticbert-output"
    model_definition(bundle)
    labels = true_labels("sst-2")
    write(bundle, "sst-2_0.3.tsv", predictions("sst-2"))
    write(bundle, "sst-2_infer_exit_layer_0.3.tsv", tsv(EXIT_LAYER_HEADER, [3] * len(labels)))
    report = checked(zip_folder(bundle, tmp_path / "bundle.zip"))
    point = report["tasks"][0]["points"][0]
    # Every example leaves after layer 3: the 3-layer reference cost plus two more heads.
    assert point["mflops"] == pytest.approx(1060.33 + 2 * HEAD_MFLOPS, abs=0.01)
    assert point["exit_histogram"] == {"3": len(labels)}
    assert round(point["mparams"], 1) == 116.0  # twelve exit heads


def test_it_scores_declared_costs_against_the_reference(tmp_path):
    bundle = tmp_path / "declared"
    labels = list(true_labels("mrpc"))
    wrong = ["0" if label == "1" else "1" for label in labels[:100]] + labels[100:]
    write(bundle, "mrpc.tsv", tsv(PREDICTION_HEADER, wrong))
    write(bundle, "costs.json", json.dumps({"mrpc": {"mflops": 4559.04, "mparams": 66.96}}))
    task = checked(bundle)["tasks"][0]
    point = task["points"][0]
    assert point["basis"] == "declared" and point["mflops"] == 4559.04
    assert 90 < point["performance"] < 100
    assert task["score"] == pytest.approx(point["performance"] - 87.3)


def test_it_gives_numbers_at_the_papers_precision(tmp_path):
    """Performance one decimal, scores two, in the text and the JSON alike: what the
    platform stores and shows, so the checker shows the same numbers."""
    bundle = tmp_path / "declared"
    labels = list(true_labels("mrpc"))
    wrong = ["0" if label == "1" else "1" for label in labels[:101]] + labels[101:]
    write(bundle, "mrpc.tsv", tsv(PREDICTION_HEADER, wrong))
    write(bundle, "costs.json", json.dumps({"mrpc": {"mflops": 4000.123, "mparams": 66.96}}))
    report = checked(bundle)
    task, point = report["tasks"][0], report["tasks"][0]["points"][0]
    assert point["performance"] == round(point["performance"], 1)
    for value in (point["difference"], task["score"], report["overall"]):
        assert value == round(value, 2)
    code, out = run("check", bundle, "--data", ELUE_DATA_DIR)
    assert re.search(rf"perf +{point['performance']:.1f}  MFLOPs", out), out


def test_it_applies_the_platforms_point_rules(tmp_path):
    """The cap on points per task and near-identical points, with the platform's codes."""
    bundle = tmp_path / "probe"
    labels = list(true_labels("sst-2"))
    zero = ["0"] * len(labels)
    write(bundle, "sst-2.tsv", tsv(PREDICTION_HEADER, zero))
    costs = {"sst-2": {"mflops": 1000, "mparams": 10}}
    for i in range(17):
        flipped = list(zero)
        flipped[i] = "1"
        write(bundle, f"sst-2_0.{i + 10}.tsv", tsv(PREDICTION_HEADER, flipped))
        costs[f"sst-2_0.{i + 10}"] = {"mflops": 1000 + i, "mparams": 10}
    write(bundle, "costs.json", json.dumps(costs))
    code, out = run("check", bundle, "--data", ELUE_DATA_DIR, "--json")
    assert code == 1
    codes = [e["code"] for e in json.loads(out)["errors"]]
    assert codes[0] == "too_many_points" and codes.count("near_identical_points") == 17
    code, out = run("check", bundle, "--data", ELUE_DATA_DIR)
    assert "18 operating points on SST-2; at most 16 per task" in out
    assert "sst-2_0.10.tsv: its predictions differ from sst-2.tsv in only 1 of 2,210" in out


def test_it_lists_every_problem_with_file_and_line(tmp_path):
    bundle = tmp_path / "broken"
    labels = list(true_labels("mrpc"))
    labels[1] = "yes"
    write(bundle, "mrpc.tsv", tsv(PREDICTION_HEADER, labels))
    write(bundle, "snli.tsv", tsv(PREDICTION_HEADER, true_labels("snli")[:-4]))
    code, out = run("check", bundle, "--data", ELUE_DATA_DIR)
    assert code == 1
    assert 'mrpc.tsv line 3: prediction "yes" is not one of 0, 1' in out
    assert "snli.tsv: 9,820 rows, expected 9,824" in out


def test_it_needs_a_cost_for_every_point(tmp_path):
    bundle = tmp_path / "no-cost"
    write(bundle, "sst-2.tsv", predictions("sst-2"))
    code, out = run("check", bundle, "--data", ELUE_DATA_DIR, "--json")
    assert code == 1
    assert json.loads(out)["errors"][0]["code"] == "no_cost"


def test_it_reports_constant_stsb_predictions_as_an_error(tmp_path):
    bundle = tmp_path / "constant"
    write(bundle, "sts-b.tsv", tsv(PREDICTION_HEADER, ["2.5"] * 1379))
    write(bundle, "costs.json", json.dumps({"sts-b": {"mflops": 1000, "mparams": 10}}))
    code, out = run("check", bundle, "--data", ELUE_DATA_DIR)
    assert code == 1
    assert "sts-b.tsv: all 1,379 predictions are the same value (2.5)" in out


def test_it_shows_costs_without_labels(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ELUE_DATA_DIR / "SST-2", data / "SST-2")
    (data / "SST-2" / "test_full.tsv").unlink()
    bundle = tmp_path / "bundle"
    write(bundle, "sst-2.tsv", predictions("sst-2"))
    write(bundle, "costs.json", json.dumps({"sst-2": {"mflops": 900, "mparams": 14.5}}))
    code, out = run("check", bundle, "--data", data)
    assert code == 0
    assert "Performance needs labels" in out and "MFLOPs     900.00" in out


def test_it_runs_as_a_module(tmp_path):
    bundle = tmp_path / "bundle"
    write(bundle, "sst-2.tsv", predictions("sst-2"))
    write(bundle, "costs.json", json.dumps({"sst-2": {"mflops": 2119.41, "mparams": 67}}))
    result = subprocess.run([sys.executable, "-m", "evaluator", "check", str(bundle), "--data",
                             str(ELUE_DATA_DIR)], cwd=REPO_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "SST-2 (accuracy): ELUE score +13.00" in result.stdout
    assert "Overall ELUE score: +13.00 (1 of 6 tasks scored)" in result.stdout


def test_it_says_when_the_bundle_does_not_exist(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.zip"), "--data", str(ELUE_DATA_DIR)]) == 2
    assert "does not exist" in capsys.readouterr().err


ARCHITECTURES = {  # config (published shapes, tests/evaluator/configs.py) and tokenizer
    "deberta-v3-xsmall": (DEBERTA_V3_XSMALL, "deberta-v3"),
    "xlm-roberta-base": (XLM_ROBERTA_BASE, "xlm-roberta"),
    "camembert-base": (CAMEMBERT_BASE, "camembert"),
    "mpnet-base": (MPNET_BASE, "mpnet"),
    "modernbert-base": (MODERNBERT_BASE, "modernbert"),
    # Not new, but refused until now when it came with its own SentencePiece model.
    "albert-base-v2": ({"model_type": "albert", "embedding_size": 128, "hidden_size": 768,
                        "num_attention_heads": 12, "intermediate_size": 3072,
                        "num_hidden_layers": 12, "vocab_size": 30000}, "albert"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_it_counts_each_new_architecture_on_the_five_real_tasks(tmp_path, name):
    from tests.evaluator.cost.reference_count import transformers_model

    config, tokenizer = ARCHITECTURES[name]
    bundle = tmp_path / name
    write(bundle, "model/config.json", json.dumps(config))
    WRITERS[tokenizer](bundle / "model")
    tasks = ("sst-2", "snli", "scitail", "mrpc", "sts-b")
    for slug in tasks:
        write(bundle, f"{slug}.tsv", predictions(slug))
    report = checked(bundle)
    assert sorted(t["task"] for t in report["tasks"]) == sorted(tasks)
    for task in report["tasks"]:
        point, = task["points"]
        assert point["basis"] == "counted" and point["performance"] == 100.0
        assert 0 < point["median_mflops"] <= point["p95_mflops"]
        labels = get_task(task["task"]).num_labels
        params = sum(p.numel() for p in transformers_model(config, labels).parameters())
        assert point["mparams"] == params / 1e6

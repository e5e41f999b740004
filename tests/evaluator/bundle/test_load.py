"""Finding and validating the files of a submission bundle: evaluator.bundle.load and friends.

Files are built from the real ELUE test sets; IMDb, which is not available here, from
generated data in the same layout.
"""

from __future__ import annotations

import json
import random

import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle.declared_costs import DeclaredCost
from evaluator.bundle.load import load_bundle
from evaluator.data import load_test_set
from tests.evaluator.builders import (
    EXIT_LAYER_HEADER,
    PREDICTION_HEADER,
    exit_layers,
    predictions,
    true_labels,
    tsv,
    write,
    zip_folder,
)
from tests.evaluator.bundle.loading import (
    BERT_CONFIG,
    add_model,
    as_tsv,
    codes,
    load,
    problems,
    rows,
)

# --- valid bundles ------------------------------------------------------------------------

def test_it_loads_an_elasticbert_output_folder_zipped_as_it_is(out):
    # What ElasticBERT's finetune-dynamic scripts leave behind (csv.writer: CRLF lines).
    crlf_labels = tsv(PREDICTION_HEADER, true_labels("sst-2"), newline="\r\n")
    write(out, "sst-2.tsv", crlf_labels)
    for point in ("0.5", "0.05", "10", "9"):
        write(out, f"sst-2_{point}.tsv", crlf_labels)
        write(out, f"sst-2_infer_exit_layer_{point}.tsv", exit_layers("sst-2"))
        write(out, f"sst-2_eval_exit_layer_{point}.tsv", tsv(EXIT_LAYER_HEADER, [1] * 872))
    add_model(out, json.dumps({"model_type": "elasticbert", "num_hidden_layers": 12}))
    write(out, "special_tokens_map.json", "{}")
    write(out, "tokenizer_config.json", "{}")
    write(out, "pytorch_model.bin", b"\x80\x04 a pickle, never loaded")
    write(out, "training_args.bin", b"\x80\x04 a pickle, never loaded")

    upload = zip_folder(out, out.parent / "upload.zip")
    bundle = load_bundle(upload, out.parent / "scratch")

    assert bundle.root == out.parent / "scratch" / "output"
    assert [(p.task.slug, p.point, p.predictions_file, p.exit_layers_file)
            for p in bundle.points] == [
        ("sst-2", "", "sst-2.tsv", None),
        ("sst-2", "0.05", "sst-2_0.05.tsv", "sst-2_infer_exit_layer_0.05.tsv"),
        ("sst-2", "0.5", "sst-2_0.5.tsv", "sst-2_infer_exit_layer_0.5.tsv"),
        ("sst-2", "9", "sst-2_9.tsv", "sst-2_infer_exit_layer_9.tsv"),
        ("sst-2", "10", "sst-2_10.tsv", "sst-2_infer_exit_layer_10.tsv"),
    ]
    static, first = bundle.points[0], bundle.points[1]
    assert static.predictions == list(true_labels("sst-2"))
    assert not static.is_dynamic and static.exit_layers is None and static.threshold is None
    assert first.is_dynamic and first.threshold == 0.05 and first.stem == "sst-2_0.05"
    assert first.exit_layers[:13] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1]
    assert len(first.exit_layers) == 2210
    assert bundle.model.num_layers == 12 and bundle.model_dir == bundle.root
    assert bundle.model.files == ("config.json", "special_tokens_map.json",
                                  "tokenizer_config.json", "vocab.txt")
    assert bundle.ignored == ["pytorch_model.bin"] + [
        f"sst-2_eval_exit_layer_{p}.tsv" for p in ("0.05", "0.5", "10", "9")
    ] + ["training_args.bin"]
    assert not bundle.has_declared_costs


def test_it_orders_points_by_task_order(out):
    for slug in ("sts-b", "mrpc", "scitail", "snli", "sst-2"):
        write(out, f"{slug}.tsv", predictions(slug))
    bundle = load(out)
    assert [p.task.slug for p in bundle.points] == ["sst-2", "snli", "scitail", "mrpc", "sts-b"]
    assert [t.slug for t in bundle.tasks] == ["sst-2", "snli", "scitail", "mrpc", "sts-b"]
    assert bundle.points[-1].predictions[:2] == ["2.500", "3.600"]  # STS-B as written
    assert bundle.model is None and bundle.model_dir is None


def test_it_accepts_rows_in_any_order_and_returns_index_order(out):
    table = rows("mrpc")
    random.Random(7).shuffle(table)
    write(out, "mrpc.tsv", as_tsv(table))
    assert load(out).points[0].predictions == list(true_labels("mrpc"))


def test_it_accepts_a_byte_order_mark_and_crlf(out):
    write(out, "scitail.tsv", "\ufeff" + tsv(PREDICTION_HEADER, true_labels("scitail"), "\r\n"))
    assert load(out).points[0].predictions == list(true_labels("scitail"))


def test_it_takes_the_size_from_the_loaded_test_set(out):
    write(out, "sst-2.tsv", tsv(PREDICTION_HEADER, ["1", "0", "1"]))
    assert load(out, sizes={"sst-2": 3}).points[0].predictions == ["1", "0", "1"]
    assert ("wrong_row_count", "sst-2.tsv", None) in codes(out)


def test_it_validates_imdb_against_a_generated_test_set(out, tmp_path):
    data = tmp_path / "data"
    labels = [str(i % 2) for i in range(25_000)]
    write(data, "IMDb/test.tsv", tsv("index\tsentence", [f"review {i}" for i in range(25_000)]))
    write(data, "IMDb/test_full.tsv", "sentence\tlabel\n" + "".join(
        f"review {i}\t{label}\n" for i, label in enumerate(labels)))
    test_set = load_test_set(data, TASKS["imdb"])
    write(out, "imdb.tsv", tsv(PREDICTION_HEADER, labels))
    bundle = load(out, sizes={"imdb": len(test_set)})
    assert bundle.points[0].predictions == test_set.labels
    write(out, "imdb.tsv", tsv(PREDICTION_HEADER, labels[:-1]))
    assert [str(p) for p in problems(out) if p.code == "wrong_row_count"] == [
        "imdb.tsv: 24,999 rows, expected 25,000 (one per IMDb test example)"]


def test_it_reads_a_model_folder_with_code(out):
    write(out, "sst-2_0.3.tsv", predictions("sst-2"))
    write(out, "sst-2_infer_exit_layer_0.3.tsv", exit_layers("sst-2", 6))
    add_model(out, json.dumps({"model_type": "custom", "num_hidden_layers": 6}), "model/")
    write(out, "model/model.py", "from modeling_custom import build, predict\n")
    write(out, "model/modeling_custom.py", "class Model: ...\n")
    write(out, "model/model.safetensors", b"\0" * 16)
    bundle = load(out)
    assert bundle.model_dir == bundle.root / "model"
    assert bundle.model.code_files == ("model.py", "modeling_custom.py")
    assert bundle.model.weight_files == ("model.safetensors",)
    assert bundle.points[0].exit_layers[:7] == [1, 2, 3, 4, 5, 6, 1]


def test_it_attaches_declared_costs(out):
    write(out, "sst-2.tsv", predictions("sst-2"))
    write(out, "sst-2_0.3.tsv", predictions("sst-2"))
    write(out, "costs.json", json.dumps({"sst-2": {"mflops": 21785.6, "mparams": 109.48},
                                         "sst-2_0.3": {"mflops": 1203, "mparams": 116.0}}))
    bundle = load(out)
    assert [p.declared_cost for p in bundle.points] == [DeclaredCost(21785.6, 109.48),
                                                        DeclaredCost(1203.0, 116.0)]
    assert bundle.has_declared_costs


# --- names --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "code", "hint"), [
    ("sst2.tsv", "unknown_task", "did you mean sst-2.tsv?"),
    ("STS-B_0.3.tsv", "unknown_task", "did you mean sts-b_0.3.tsv?"),
    ("qnli.tsv", "unknown_task", "tasks are sst-2, imdb, snli, scitail, mrpc, sts-b"),
    ("sst-2_best.tsv", "bad_point_name", '"best" is not an operating point'),
    ("sst-2_nan.tsv", "bad_point_name", '"nan" is not an operating point'),
    ("sst-2_.tsv", "bad_point_name", '"" is not an operating point'),
    ("sst-2_infer_exit_layer_.tsv", "bad_point_name", '"" is not an operating point'),
    ("sst-2_0.3_final.tsv", "unknown_file", "<task>_<threshold>.tsv"),
    ("sst-2.csv", "unknown_file", "not part of an ELUE submission"),
    ("notes.txt", "unknown_file", "not part of an ELUE submission"),
    ("preds/sst-2.tsv", "unknown_file", "must be at the top level"),
    ("model/extra/config.json", "unknown_file", "not part of an ELUE submission"),
])
def test_it_refuses_names_it_does_not_know(out, name, code, hint):
    write(out, "mrpc.tsv", predictions("mrpc"))
    write(out, "scitail.tsv", predictions("scitail"))  # two files: no unwrapping
    write(out, name, predictions("sst-2"))
    [problem] = problems(out)
    assert (problem.code, problem.file) == (code, name)
    assert hint in problem.message


def test_it_refuses_two_spellings_of_one_point(out):
    write(out, "sst-2_0.3.tsv", predictions("sst-2"))
    write(out, "sst-2_0.30.tsv", predictions("sst-2"))
    assert codes(out) == [("duplicate_point", "sst-2_0.30.tsv", None)]


def test_it_refuses_a_bundle_without_predictions(out):
    add_model(out)
    write(out, "costs.json", "{}")
    assert codes(out) == [("no_predictions", None, None)]


def test_it_refuses_an_empty_upload(out):
    assert codes(out) == [("no_predictions", None, None)]


# --- model definitions --------------------------------------------------------------------

@pytest.mark.parametrize(("files", "missing"), [
    ({"config.json": BERT_CONFIG}, "a tokenizer vocabulary"),
    ({"vocab.txt": "[PAD]\n", "tokenizer_config.json": "{}"}, "config.json"),
    ({"config.json": BERT_CONFIG, "vocab.json": "{}"}, "merges.txt"),
])
def test_it_refuses_an_incomplete_model_definition(out, files, missing):
    write(out, "sst-2.tsv", predictions("sst-2"))
    for name, content in files.items():
        write(out, name, content)
    [problem] = problems(out)
    assert problem.code == "model_incomplete" and missing in problem.message


@pytest.mark.parametrize("config", ['{"num_hidden_layers": 12,', "[12]",
                                    '{"num_hidden_layers": "12"}', '{"n_layers": 0}',
                                    '{"num_hidden_layers": true}'])
def test_it_refuses_a_bad_config(out, config):
    write(out, "sst-2.tsv", predictions("sst-2"))
    add_model(out, config)
    assert [(p.code, p.file) for p in problems(out)] == [("bad_config", "config.json")]


def test_it_refuses_a_model_definition_in_two_places(out):
    write(out, "sst-2.tsv", predictions("sst-2"))
    add_model(out)
    add_model(out, where="model/")
    assert [p.code for p in problems(out)] == ["model_in_two_places"]


# --- declared costs -----------------------------------------------------------------------

@pytest.mark.parametrize(("costs", "code"), [
    ('{"sst-2": {"mflops": 1, "mparams": 2},}', "costs_not_json"),
    ('[{"mflops": 1, "mparams": 2}]', "costs_wrong_shape"),
    ('{"sst-2": {"mflops": 1}}', "costs_wrong_shape"),
    ('{"sst-2": {"mflops": 1, "mparams": 2, "gpu": "A100"}}', "costs_wrong_shape"),
    ('{"sst-2": {"mflops": 1, "mparams": 2}, "sst-2": {"mflops": 1, "mparams": 2}}',
     "costs_duplicate_key"),
    ('{"sst-2": {"mflops": 0, "mparams": 2}}', "costs_bad_value"),
    ('{"sst-2": {"mflops": -5, "mparams": 2}}', "costs_bad_value"),
    ('{"sst-2": {"mflops": "1200", "mparams": 2}}', "costs_bad_value"),
    ('{"sst-2": {"mflops": true, "mparams": 2}}', "costs_bad_value"),
    ('{"sst-2": {"mflops": NaN, "mparams": 2}}', "costs_bad_value"),
    ('{"sst-2": {"mflops": 1, "mparams": Infinity}}', "costs_bad_value"),
    ('{"sst-2": {"mflops": 1e999, "mparams": 2}}', "costs_bad_value"),
])
def test_it_refuses_bad_declared_costs(out, costs, code):
    write(out, "sst-2.tsv", predictions("sst-2"))
    write(out, "costs.json", costs)
    assert [(p.code, p.file) for p in problems(out)] == [(code, "costs.json")]


def test_it_matches_declared_costs_to_the_prediction_files(out):
    write(out, "sst-2.tsv", predictions("sst-2"))
    write(out, "mrpc_0.3.tsv", predictions("mrpc"))
    write(out, "costs.json", json.dumps({
        "sst-2": {"mflops": 21785.6, "mparams": 109.48},
        "mrpc_0.5": {"mflops": 900, "mparams": 109.48},
    }, indent=2))
    assert codes(out) == [("costs_unknown_point", "costs.json", 6),
                          ("costs_missing_point", "costs.json", None)]
    assert "mrpc_0.3.tsv" in problems(out)[1].message


# --- everything at once -------------------------------------------------------------------

def test_it_reports_every_problem_of_every_file_at_once(out):
    table = rows("mrpc")
    table[1][1] = "yes"
    write(out, "mrpc.tsv", as_tsv(table))
    write(out, "snli.tsv", as_tsv(rows("snli")[:9820]))
    write(out, "sst-2_infer_exit_layer_0.3.tsv", exit_layers("sst-2"))
    write(out, "readme.md", "hello")
    assert [p.code for p in problems(out)] == [
        "unknown_file", "exit_layers_without_predictions", "wrong_row_count",
        "missing_index", "unknown_label"]

"""Finding and validating the files of a submission bundle: evaluator.bundle.load and friends.

Files are built from the real ELUE test sets; IMDb, which is not available here, from
generated data in the same layout.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle import load as bundle_module
from evaluator.bundle.declared_costs import DeclaredCost
from evaluator.bundle.load import Bundle, load_bundle
from evaluator.data import load_test_set
from evaluator.errors import Problem, SubmissionInvalid
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

BERT_CONFIG = json.dumps({"model_type": "bert", "num_hidden_layers": 12})


@pytest.fixture
def out(tmp_path) -> Path:
    """The folder a submitter fills, then uploads (as a folder or zipped)."""
    folder = tmp_path / "output"
    folder.mkdir()
    return folder


def load(folder: Path, **kwargs) -> Bundle:
    """Load ``folder`` as an upload, into a fresh scratch directory each time."""
    scratch = folder.parent / "scratch"
    number = 0
    while (scratch / str(number)).exists():
        number += 1
    return load_bundle(folder, scratch / str(number), **kwargs)


def problems(folder: Path, **kwargs) -> list[Problem]:
    with pytest.raises(SubmissionInvalid) as caught:
        load(folder, **kwargs)
    return caught.value.problems


def codes(folder: Path, **kwargs) -> list[tuple[str, str | None, int | None]]:
    """(code, file, line) of every problem, in the order reported."""
    return [(p.code, p.file, p.line) for p in problems(folder, **kwargs)]


def rows(slug: str) -> list[list[str]]:
    """The rows ``[index, label]`` of a perfect prediction file, to break by hand."""
    return [[str(i), label] for i, label in enumerate(true_labels(slug))]


def as_tsv(table: list[list[str]], header: str = PREDICTION_HEADER) -> str:
    return "\n".join([header] + ["\t".join(r) for r in table]) + "\n"


def add_model(folder: Path, config: str = BERT_CONFIG, where: str = "") -> None:
    write(folder, f"{where}config.json", config)
    write(folder, f"{where}vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n")


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


# --- problems in one prediction file ------------------------------------------------------

def test_it_reports_a_wrong_row_count_and_the_missing_indices(out):
    write(out, "snli.tsv", as_tsv(rows("snli")[:9820]))
    assert [str(p) for p in problems(out)] == [
        "snli.tsv: 9,820 rows, expected 9,824 (one per SNLI test example)",
        "snli.tsv: no row for index 9820, 9821, 9822, 9823; every index 0..9823 must "
        "appear once",
    ]


def test_it_reports_a_duplicate_index_with_its_line(out):
    table = rows("sst-2")
    table[14][0] = "15"  # line 16 claims index 15, which line 17 holds too
    write(out, "sst-2_0.3.tsv", as_tsv(table))
    found = problems(out)
    assert [str(p) for p in found if p.code == "duplicate_index"] == [
        "sst-2_0.3.tsv line 17: index 15 appears twice (first on line 16)"]
    assert [p.message for p in found if p.code == "missing_index"] == [
        "no row for index 14; every index 0..2209 must appear once"]


def test_it_reports_an_unknown_label(out):
    table = rows("mrpc")
    table[1][1] = "yes"
    write(out, "mrpc.tsv", as_tsv(table))
    assert [str(p) for p in problems(out)] == [
        'mrpc.tsv line 3: prediction "yes" is not one of 0, 1']


def test_it_suggests_the_code_for_a_label_name(out):
    table = rows("snli")
    table[0][1] = "contradiction"
    write(out, "snli.tsv", as_tsv(table))
    [problem] = problems(out)
    assert problem.code == "unknown_label"
    assert problem.message.endswith('(write 2 for "contradiction")')


@pytest.mark.parametrize(("value", "code"), [
    ("similar", "not_a_number"), ("1_0", "not_a_number"), ("", "not_a_number"),
    ("nan", "not_finite"), ("inf", "not_finite"), ("-Infinity", "not_finite"),
    ("1e999", "not_finite"), ("5.01", "out_of_range"), ("-0.5", "out_of_range"),
])
def test_it_refuses_bad_sts_b_scores(out, value, code):
    table = rows("sts-b")
    table[9][1] = value
    write(out, "sts-b.tsv", as_tsv(table))
    assert codes(out) == [(code, "sts-b.tsv", 11)]


def test_it_accepts_sts_b_scores_in_any_decimal_notation(out):
    values = ["0", "5", "2.5e0", ".5", "+3.", "4.999999"] + ["1.0"] * 1373
    write(out, "sts-b.tsv", tsv(PREDICTION_HEADER, values))
    assert load(out).points[0].predictions[:6] == ["0", "5", "2.5e0", ".5", "+3.", "4.999999"]


@pytest.mark.parametrize(("index", "code"), [
    ("x", "bad_index"), ("-1", "bad_index"), ("3.0", "bad_index"),
    ("2210", "index_out_of_range"),
])
def test_it_refuses_bad_indices(out, index, code):
    table = rows("sst-2")
    table[3][0] = index
    write(out, "sst-2.tsv", as_tsv(table))
    assert codes(out) == [("missing_index", "sst-2.tsv", None), (code, "sst-2.tsv", 5)]


def test_it_refuses_an_empty_file(out):
    write(out, "sst-2.tsv", b"")
    assert codes(out) == [("empty_file", "sst-2.tsv", None)]


@pytest.mark.parametrize("header", ["id\tlabel", "index\tprediction\textra", "0\t1",
                                    "index prediction", "Index\tPrediction"])
def test_it_refuses_a_wrong_header(out, header):
    write(out, "sst-2.tsv", header + "\n" + as_tsv(rows("sst-2")).split("\n", 1)[1])
    [problem] = problems(out)
    assert (problem.code, problem.line) == ("wrong_header", 1)
    assert "index<TAB>prediction" in problem.message


def test_it_wants_the_exit_layer_header_in_exit_layer_files(out):
    write(out, "sst-2_0.3.tsv", predictions("sst-2"))
    write(out, "sst-2_infer_exit_layer_0.3.tsv",
          exit_layers("sst-2").replace("exit_layer", "prediction", 1))
    assert codes(out) == [("wrong_header", "sst-2_infer_exit_layer_0.3.tsv", 1)]


def test_it_refuses_rows_with_the_wrong_number_of_fields(out):
    table = rows("scitail")
    table[4].append("extra")
    write(out, "scitail.tsv", as_tsv(table))
    # The broken row still counts as a row, so there is no row-count complaint.
    assert codes(out) == [("missing_index", "scitail.tsv", None),
                          ("wrong_field_count", "scitail.tsv", 6)]


def test_it_refuses_bytes_that_are_not_utf8(out):
    data = as_tsv(rows("sst-2")).encode().replace(b"\n7\t", b"\n7\xe9\t", 1)
    write(out, "sst-2.tsv", data)
    assert codes(out) == [("not_utf8", "sst-2.tsv", 9)]


def test_it_caps_the_problems_of_a_garbage_file(out):
    write(out, "mrpc.tsv", tsv(PREDICTION_HEADER, ["maybe"] * 1725))
    found = problems(out)
    assert len(found) == 21
    assert [p.code for p in found[:20]] == ["unknown_label"] * 20
    assert [p.line for p in found[:20]] == list(range(2, 22))
    assert (found[20].code, found[20].file) == ("too_many_problems", "mrpc.tsv")
    assert found[20].message == "... and 1,705 more problems in this file"


def test_it_refuses_a_prediction_file_too_large_to_be_one(out, monkeypatch):
    monkeypatch.setattr(bundle_module, "MAX_TSV_BYTES", 1000)
    write(out, "sst-2.tsv", predictions("sst-2"))
    assert codes(out) == [("file_too_large", "sst-2.tsv", None)]


# --- exit-layer files ---------------------------------------------------------------------

@pytest.mark.parametrize(("layer", "code"), [
    ("0", "exit_layer_out_of_range"), ("7", "exit_layer_out_of_range"),
    ("-1", "exit_layer_out_of_range"), ("3.0", "bad_exit_layer"), ("three", "bad_exit_layer"),
])
def test_it_checks_exit_layers_against_the_models_depth(out, layer, code):
    add_model(out, json.dumps({"model_type": "bert", "num_hidden_layers": 6}))
    table = [[str(i), "1"] for i in range(2210)]
    table[0][1] = layer
    write(out, "sst-2_0.3.tsv", predictions("sst-2"))
    write(out, "sst-2_infer_exit_layer_0.3.tsv", as_tsv(table, EXIT_LAYER_HEADER))
    assert codes(out) == [(code, "sst-2_infer_exit_layer_0.3.tsv", 2)]


def test_it_allows_48_layers_without_a_model_definition(out):
    table = [[str(i), "48"] for i in range(2210)]
    write(out, "sst-2_0.3.tsv", predictions("sst-2"))
    write(out, "sst-2_infer_exit_layer_0.3.tsv", as_tsv(table, EXIT_LAYER_HEADER))
    assert load(out).points[0].exit_layers[0] == 48
    table[5][1] = "49"
    write(out, "sst-2_infer_exit_layer_0.3.tsv", as_tsv(table, EXIT_LAYER_HEADER))
    [problem] = problems(out)
    assert problem.message == ("exit layer 49 is outside 1..48 (at most 48 without a model "
                               "definition)")


def test_it_refuses_exit_layers_without_predictions(out):
    write(out, "sst-2.tsv", predictions("sst-2"))
    write(out, "sst-2_infer_exit_layer_0.3.tsv", exit_layers("sst-2"))
    [problem] = problems(out)
    assert str(problem) == ("sst-2_infer_exit_layer_0.3.tsv: there is no prediction file "
                            "sst-2_0.3.tsv for this operating point")


def test_it_wants_exit_layers_for_dynamic_points_of_a_model_definition(out):
    write(out, "mrpc_0.3.tsv", predictions("mrpc"))
    assert load(out).points[0].exit_layers is None  # declared costs need no exit layers
    add_model(out)
    assert codes(out) == [("missing_exit_layers", "mrpc_0.3.tsv", None)]


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

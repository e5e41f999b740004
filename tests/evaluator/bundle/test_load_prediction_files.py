"""Problems in the prediction and exit-layer files of a bundle, each reported with its file
and line: evaluator.bundle.predictions through load_bundle (helpers: loading.py)."""

from __future__ import annotations

import json

import pytest

from evaluator.bundle import load as bundle_module
from tests.evaluator.builders import (
    EXIT_LAYER_HEADER,
    PREDICTION_HEADER,
    exit_layers,
    predictions,
    tsv,
    write,
)
from tests.evaluator.bundle.loading import (
    add_model,
    as_tsv,
    codes,
    load,
    problems,
    rows,
)

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

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leaderboard.models import TestData

pytestmark = pytest.mark.django_db

SIZES = {"sst-2": 2210, "snli": 9824, "scitail": 2126, "mrpc": 1725, "sts-b": 1379}


def copy_task(elue_data: Path, folder: str, target: Path) -> Path:
    shutil.copytree(elue_data / folder, target / folder)
    return target / folder


def replace_line(path: Path, number: int, new: str) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = new.encode()
    path.write_bytes(b"\n".join(lines))


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("elue_import_data", *map(str, args), stdout=out)
    return out.getvalue()


def test_it_imports_the_five_real_tasks(elue_data, data_root):
    out = run(elue_data)
    assert dict(TestData.objects.values_list("task__slug", "examples")) == SIZES
    assert "IMDb: skipped" in out
    assert "SNLI: 9,824 examples, imported" in out
    for folder in ("SST-2", "SNLI", "SciTail", "MRPC", "STS-B"):
        assert (data_root / folder / "test.tsv").read_bytes() == (
            elue_data / folder / "test.tsv").read_bytes()
        assert (data_root / folder / "test_full.tsv").is_file()


def test_it_is_idempotent(elue_data, data_root):
    run(elue_data, "--task", "sst-2")
    first = TestData.objects.get().imported_at
    out = run(elue_data, "--task", "sst-2")
    assert out.strip() == "SST-2: 2,210 examples, unchanged"
    assert TestData.objects.get().imported_at == first


def test_it_refuses_an_unknown_label_with_file_and_line(elue_data, data_root, tmp_path):
    folder = copy_task(elue_data, "SST-2", tmp_path)
    replace_line(folder / "test_full.tsv", 17, "A fine film .\t7")
    with pytest.raises(CommandError) as error:
        run(tmp_path)
    assert 'SST-2/test_full.tsv line 17: label "7" is not one of 0, 1' in str(error.value)
    assert "nothing imported" in str(error.value)
    assert not TestData.objects.exists()
    assert not (data_root / "SST-2").exists()


def test_it_refuses_a_short_file(elue_data, data_root, tmp_path):
    folder = copy_task(elue_data, "SNLI", tmp_path)
    lines = (folder / "test.tsv").read_bytes().split(b"\n")
    (folder / "test.tsv").write_bytes(b"\n".join(lines[:-5]))
    with pytest.raises(CommandError, match=r"SNLI/test.tsv: 9,820 rows, expected 9,824"):
        run(tmp_path)


def test_it_refuses_shuffled_indices(elue_data, data_root, tmp_path):
    folder = copy_task(elue_data, "MRPC", tmp_path)
    replace_line(folder / "test.tsv", 5, "9\t1\t2\ta\tb")
    with pytest.raises(CommandError, match=r'MRPC/test.tsv line 5: index "9", expected 3'):
        run(tmp_path)


def test_it_refuses_bytes_that_are_not_utf8(elue_data, data_root, tmp_path):
    folder = copy_task(elue_data, "STS-B", tmp_path)
    data = (folder / "test.tsv").read_bytes().split(b"\n")
    data[2] = data[2] + b"\xff"
    (folder / "test.tsv").write_bytes(b"\n".join(data))
    with pytest.raises(CommandError, match=r"STS-B/test.tsv line 3: byte 0xff is not valid UTF-8"):
        run(tmp_path)


def test_it_refuses_an_out_of_range_similarity(elue_data, data_root, tmp_path):
    folder = copy_task(elue_data, "STS-B", tmp_path)
    replace_line(folder / "test_full.tsv", 2,
                 "A girl is styling her hair.\tA girl is brushing her hair.\t7.5")
    expected = r"STS-B/test_full.tsv line 2: label 7.5 is outside 0..5"
    with pytest.raises(CommandError, match=expected):
        run(tmp_path)


def test_it_refuses_labels_in_another_order(elue_data, data_root, tmp_path):
    folder = copy_task(elue_data, "SciTail", tmp_path)
    lines = (folder / "test_full.tsv").read_bytes().split(b"\n")
    lines[1], lines[2] = lines[2], lines[1]
    (folder / "test_full.tsv").write_bytes(b"\n".join(lines))
    with pytest.raises(CommandError, match=r"SciTail/test_full.tsv line 2: example 0 differs"):
        run(tmp_path)


def test_one_broken_task_stops_the_whole_import(elue_data, data_root, tmp_path):
    copy_task(elue_data, "SST-2", tmp_path)
    broken = copy_task(elue_data, "MRPC", tmp_path)
    (broken / "test_full.tsv").write_bytes(b"")
    with pytest.raises(CommandError, match=r"MRPC/test_full.tsv: the file is empty"):
        run(tmp_path)
    assert not TestData.objects.exists()


def test_a_refused_reimport_keeps_the_previous_copy(elue_data, data_root, tmp_path):
    run(elue_data, "--task", "sst-2")
    folder = copy_task(elue_data, "SST-2", tmp_path)
    replace_line(folder / "test.tsv", 1, "idx\tsentence")
    with pytest.raises(CommandError, match=r"SST-2/test.tsv line 1: header is idx \| sentence"):
        run(tmp_path)
    assert (data_root / "SST-2" / "test.tsv").read_bytes() == (
        elue_data / "SST-2" / "test.tsv").read_bytes()
    assert TestData.objects.get().examples == 2210


def test_it_imports_imdb_in_the_elue_layout(data_root, tmp_path):
    folder = tmp_path / "IMDb"
    folder.mkdir()
    reviews = [f"review number {i} , which was {'good' if i % 2 else 'bad'} ." for i in
               range(25000)]
    (folder / "test.tsv").write_text(
        "index\tsentence\n" + "".join(f"{i}\t{r}\n" for i, r in enumerate(reviews)))
    (folder / "test_full.tsv").write_text(
        "sentence\tlabel\n" + "".join(f"{r}\t{i % 2}\n" for i, r in enumerate(reviews)))
    assert run(tmp_path, "--task", "imdb").strip() == "IMDb: 25,000 examples, imported"


def test_it_says_when_a_requested_task_is_missing(data_root, tmp_path):
    with pytest.raises(CommandError, match=r"IMDb/test.tsv not found"):
        run(tmp_path, "--task", "imdb")


def test_it_refuses_a_directory_without_tasks(data_root, tmp_path):
    with pytest.raises(CommandError, match="no ELUE task folders"):
        run(tmp_path)


def test_it_imports_into_an_object_store_and_a_worker_fetches_from_it(
        elue_data, object_store, s3_server, tmp_path, settings):
    from evaluator.benchmark import TASKS
    from leaderboard.testdata import fetch_test_data

    settings.ELUE_DATA_ROOT = tmp_path / "no-local-copy"
    run(elue_data, "--task", "mrpc")
    assert run(elue_data, "--task", "mrpc").strip() == "MRPC: 1,725 examples, unchanged"
    prefix = object_store.rsplit("/", 1)[1]
    assert sorted(s3_server.object_keys(prefix)) == [f"{prefix}/data/MRPC/test.tsv",
                                              f"{prefix}/data/MRPC/test_full.tsv"]
    scratch = tmp_path / "scratch"
    root = fetch_test_data([TASKS["mrpc"], TASKS["sst-2"]], scratch)  # SST-2: not stored
    assert root == scratch
    for name in ("test.tsv", "test_full.tsv"):
        assert (root / "MRPC" / name).read_bytes() == (elue_data / "MRPC" / name).read_bytes()
    assert not any((root / "SST-2").glob("*"))
    assert not settings.ELUE_DATA_ROOT.exists()

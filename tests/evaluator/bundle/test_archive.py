"""Reading uploads as hostile input: evaluator.bundle.archive, with its limits
(archive_limits), member paths (member_paths) and folder copy (folder_copy)."""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from evaluator.bundle.archive import unpack
from evaluator.bundle.archive_limits import ArchiveLimits, Budget, copy_capped
from evaluator.bundle.member_paths import safe_parts
from evaluator.errors import SubmissionInvalid
from tests.evaluator.builders import (
    with_bad_header_offset,
    write,
    zip_entries,
    zip_folder,
    zip_of_empty_entries,
)

MiB = 1024 * 1024


def refused(source: Path, scratch: Path, limits: ArchiveLimits | None = None) -> list[str]:
    """The problem codes of a refused upload; checks the scratch dir was emptied again."""
    with pytest.raises(SubmissionInvalid) as caught:
        unpack(source, scratch, limits or ArchiveLimits())
    assert list(scratch.iterdir()) == []
    return [p.code for p in caught.value.problems]


def member(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so that the mode bits below mean something
    info.external_attr = mode << 16
    return info


def test_it_extracts_a_zip_into_scratch(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"sst-2.tsv": "index\tprediction\n",
                                                "model/config.json": "{}"})
    root = unpack(upload, tmp_path / "scratch")
    assert root == tmp_path / "scratch"
    assert (root / "sst-2.tsv").read_text() == "index\tprediction\n"
    assert (root / "model" / "config.json").read_text() == "{}"


def test_it_unwraps_a_single_top_level_folder(tmp_path):
    write(tmp_path / "output", "sst-2.tsv", "x")
    write(tmp_path / "output", "mrpc.tsv", "y")
    root = unpack(zip_folder(tmp_path / "output", tmp_path / "up.zip"), tmp_path / "scratch")
    assert root == tmp_path / "scratch" / "output"
    assert sorted(p.name for p in root.iterdir()) == ["mrpc.tsv", "sst-2.tsv"]


def test_it_does_not_unwrap_a_lone_model_folder(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"model/config.json": "{}"})
    assert unpack(upload, tmp_path / "scratch") == tmp_path / "scratch"


def test_it_skips_operating_system_junk(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {
        "out/sst-2.tsv": "x", "__MACOSX/out/._sst-2.tsv": "junk", "out/.DS_Store": "junk"})
    root = unpack(upload, tmp_path / "scratch")
    assert root.name == "out"  # the junk did not stop the unwrapping either
    assert [p.name for p in (tmp_path / "scratch").rglob("*")] == ["out", "sst-2.tsv"]


def test_it_refuses_parent_traversal(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"ok.tsv": "x", "../evil.tsv": "x",
                                                "a/../../evil2.tsv": "x"})
    codes = refused(upload, tmp_path / "scratch")
    assert codes == ["archive_unsafe_path", "archive_unsafe_path"]
    assert not (tmp_path / "evil.tsv").exists()
    assert not (tmp_path / "evil2.tsv").exists()


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "C:/evil.tsv", "\\evil.tsv"])
def test_it_refuses_absolute_paths(tmp_path, name):
    upload = zip_entries(tmp_path / "up.zip", {name: "x"})
    assert refused(upload, tmp_path / "scratch") == ["archive_unsafe_path"]


def test_it_refuses_a_name_the_file_system_cannot_hold(tmp_path):
    """Found by proof/fuzz.py: a 300-character member name used to end in a 500."""
    upload = tmp_path / "long.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("x" * 300, "index\tprediction\n")
        archive.writestr("ok/" + "é" * 128 + ".tsv", "")  # 256 bytes in UTF-8
    assert refused(upload, tmp_path / "scratch") == ["archive_unsafe_path"] * 2
    assert safe_parts("y" * 255) == (("y" * 255,), None)


def test_it_treats_backslashes_as_separators():
    assert safe_parts("out\\sst-2.tsv") == (("out", "sst-2.tsv"), None)
    assert safe_parts("out\\..\\..\\x")[0] is None


def test_it_refuses_symlink_members(tmp_path):
    upload = tmp_path / "up.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr(member("sst-2.tsv", stat.S_IFLNK | 0o777), "/etc/passwd")
    assert refused(upload, tmp_path / "scratch") == ["archive_symlink"]


@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK])
def test_it_refuses_device_and_pipe_members(tmp_path, kind):
    upload = tmp_path / "up.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr(member("dev", kind | 0o600), "")
    assert refused(upload, tmp_path / "scratch") == ["archive_special_file"]


def test_it_refuses_encrypted_members(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"sst-2.tsv": "x"}, zipfile.ZIP_STORED)
    data = bytearray(upload.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_offset
        data[at] |= 0x1  # general purpose bit 0: encrypted
    upload.write_bytes(bytes(data))
    assert refused(upload, tmp_path / "scratch") == ["archive_encrypted"]


def test_it_refuses_compression_without_an_output_bound(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"sst-2.tsv": "x"}, zipfile.ZIP_BZIP2)
    assert refused(upload, tmp_path / "scratch") == ["archive_unsupported_compression"]


def test_it_refuses_too_many_members(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {f"f{i}.tsv": "x" for i in range(6)})
    limits = ArchiveLimits(max_members=5)
    assert refused(upload, tmp_path / "scratch", limits) == ["archive_too_many_members"]
    assert unpack(upload, tmp_path / "ok", ArchiveLimits(max_members=6)).is_dir()


def test_it_refuses_a_zip_bomb_member(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"sst-2.tsv": b"\0" * (8 * MiB)})
    assert upload.stat().st_size < 64 * 1024  # a bomb: tiny on the way in
    with pytest.raises(SubmissionInvalid) as caught:
        unpack(upload, tmp_path / "scratch")
    [problem] = caught.value.problems
    # Refused from its declared sizes, before a byte was written.
    assert (problem.code, problem.file) == ("archive_ratio", "sst-2.tsv")
    assert "compressed more than 200:1" in problem.message
    assert list((tmp_path / "scratch").iterdir()) == []


def test_it_refuses_many_small_bombs_by_the_ratio_of_the_whole_archive(tmp_path):
    # Each member is under ratio_min_bytes, so only the whole-archive count catches them.
    upload = zip_entries(tmp_path / "up.zip", {f"{i}.bin": b"\0" * (MiB - 1)
                                                for i in range(12)})
    assert refused(upload, tmp_path / "scratch") == ["archive_ratio"]


def test_it_refuses_archives_declaring_too_much(tmp_path):
    content = os.urandom(300 * 1024)  # incompressible: no ratio problem
    upload = zip_entries(tmp_path / "up.zip", {"a.bin": content, "b.bin": content})
    limits = ArchiveLimits(max_total_bytes=500 * 1024)
    assert refused(upload, tmp_path / "scratch", limits) == ["archive_too_large"]
    limits = ArchiveLimits(max_file_bytes=200 * 1024)
    assert refused(upload, tmp_path / "scratch", limits) == ["archive_too_large"] * 2


def test_it_refuses_a_member_lying_about_its_size(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"sst-2.tsv": b"0\t1\n" * (2 * MiB)})
    data = bytearray(upload.read_bytes())
    # Claim 1,000 bytes in both headers: under every declared limit.
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + size_offset
        data[at:at + 4] = struct.pack("<I", 1000)
    upload.write_bytes(bytes(data))
    limits = ArchiveLimits(max_file_bytes=MiB)
    assert refused(upload, tmp_path / "scratch", limits) == ["archive_corrupt"]


def test_it_counts_bytes_while_writing(tmp_path):
    limits = ArchiveLimits(max_file_bytes=100_000)
    source = io.BytesIO(b"x" * 100_001)
    with pytest.raises(SubmissionInvalid) as caught:
        copy_capped(source, tmp_path / "out", "big.tsv", Budget(limits))
    assert [(p.code, p.file) for p in caught.value.problems] == [("archive_too_large",
                                                                   "big.tsv")]
    assert copy_capped(io.BytesIO(b"x" * 100_000), tmp_path / "ok", "ok", Budget(limits))


def test_it_refuses_duplicate_entries(tmp_path):
    upload = tmp_path / "up.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("sst-2.tsv", "first")
        archive.writestr("sst-2.tsv", "second")
    assert refused(upload, tmp_path / "scratch") == ["archive_duplicate_path"]


def test_it_refuses_a_file_that_is_not_a_zip(tmp_path):
    upload = write(tmp_path, "up.zip", "index\tprediction\n0\t1\n")
    assert refused(upload, tmp_path / "scratch") == ["archive_corrupt"]


def test_it_refuses_a_truncated_zip(tmp_path):
    upload = zip_entries(tmp_path / "up.zip", {"sst-2.tsv": os.urandom(50_000)})
    upload.write_bytes(upload.read_bytes()[:30_000])
    assert refused(upload, tmp_path / "scratch") == ["archive_corrupt"]


def test_it_reports_every_unsafe_member_at_once(tmp_path):
    upload = tmp_path / "up.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("../a", "x")
        archive.writestr(member("b", stat.S_IFLNK | 0o777), "/etc")
    assert refused(upload, tmp_path / "scratch") == ["archive_unsafe_path", "archive_symlink"]


def test_it_copies_a_folder(tmp_path):
    write(tmp_path / "upload", "sst-2.tsv", "x")
    write(tmp_path / "upload", "model/config.json", "{}")
    write(tmp_path / "upload", ".DS_Store", "junk")
    root = unpack(tmp_path / "upload", tmp_path / "scratch")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "model", "model/config.json", "sst-2.tsv"]


def test_it_refuses_symlinks_in_folders(tmp_path):
    write(tmp_path / "upload", "mrpc.tsv", "x")
    (tmp_path / "upload" / "sst-2.tsv").symlink_to("/etc/passwd")
    assert refused(tmp_path / "upload", tmp_path / "scratch") == ["archive_symlink"]


def test_it_refuses_symlinked_folders(tmp_path):
    write(tmp_path / "elsewhere", "secret", "x")
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / "model").symlink_to(tmp_path / "elsewhere")
    assert refused(tmp_path / "upload", tmp_path / "scratch") == ["archive_symlink"]


def test_it_refuses_pipes_in_folders(tmp_path):
    (tmp_path / "upload").mkdir()
    os.mkfifo(tmp_path / "upload" / "sst-2.tsv")
    assert refused(tmp_path / "upload", tmp_path / "scratch") == ["archive_special_file"]


def test_it_caps_folders_too(tmp_path):
    for i in range(4):
        write(tmp_path / "upload", f"{i}.tsv", "x" * 1000)
    limits = ArchiveLimits(max_members=3)
    assert refused(tmp_path / "upload", tmp_path / "s1", limits) == ["archive_too_many_members"]
    limits = ArchiveLimits(max_total_bytes=3500)
    assert refused(tmp_path / "upload", tmp_path / "s2", limits) == ["archive_too_large"]


def test_it_refuses_a_scratch_directory_in_use(tmp_path):
    write(tmp_path / "scratch", "leftover", "x")
    upload = zip_entries(tmp_path / "up.zip", {"sst-2.tsv": "x"})
    with pytest.raises(ValueError):
        unpack(upload, tmp_path / "scratch")


def end_record(data: bytes) -> int:
    """Where the end-of-central-directory record starts."""
    return data.rfind(b"PK\x05\x06")


def test_a_crafted_local_header_offset_is_a_corrupt_archive_not_an_os_error(tmp_path):
    upload = with_bad_header_offset(zip_entries(tmp_path / "up.zip", {"sst-2.tsv": "x"}))
    # what zipfile does with it on its own
    with pytest.raises(OSError), zipfile.ZipFile(upload) as archive:
        archive.read("sst-2.tsv")
    assert refused(upload, tmp_path / "scratch") == ["archive_corrupt"]


def test_it_refuses_by_the_end_record_before_opening_the_archive(tmp_path, monkeypatch):
    upload = zip_of_empty_entries(tmp_path / "up.zip", 5000)
    monkeypatch.setattr(zipfile, "ZipFile", None)  # opening it would fail the test
    with pytest.raises(SubmissionInvalid) as caught:
        unpack(upload, tmp_path / "scratch")
    problem = caught.value.problems[0]
    assert problem.code == "archive_too_many_members"
    assert problem.message == "5,000 entries, at most 200 allowed"


def test_it_bounds_the_directory_even_when_the_end_record_lies_about_the_count(tmp_path):
    upload = zip_of_empty_entries(tmp_path / "up.zip", 2000)
    data = bytearray(upload.read_bytes())
    struct.pack_into("<HH", data, end_record(data) + 8, 1, 1)  # "one entry"
    upload.write_bytes(data)
    with zipfile.ZipFile(upload) as archive:  # zipfile reads the directory by its size
        assert len(archive.infolist()) == 2000
    limits = ArchiveLimits(max_members=5)  # 40 KiB of directory at most; it has ~80 KiB
    assert refused(upload, tmp_path / "scratch", limits) == ["archive_too_many_members"]

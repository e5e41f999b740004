"""Where uploads and the hidden test data live: ``ELUE_STORAGE_URL`` read into Django
storages, and the S3 backend against a real S3-compatible server (SeaweedFS on loopback):
round trips, downloads into scratch space, nothing readable without credentials, and
``/healthz`` reporting the store."""

from __future__ import annotations

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from elue.storage import hidden_data, uploads
from elue.storage_url import s3_options, storage_settings
from tests.pipeline.harness import free_port


def test_no_url_keeps_the_local_folders():
    assert storage_settings("", "uploads", "elue.storage.LocalStore") == {
        "BACKEND": "elue.storage.LocalStore"}


def test_a_server_of_ones_own_is_reached_by_path_with_the_credentials_of_the_url():
    options = s3_options("s3+http://key:s%2Fcret@127.0.0.1:8333/elue/prod?region=eu-1", "data")
    assert options["endpoint_url"] == "http://127.0.0.1:8333"
    assert (options["bucket_name"], options["location"]) == ("elue", "prod/data")
    assert (options["access_key"], options["secret_key"]) == ("key", "s/cret")
    assert (options["region_name"], options["addressing_style"]) == ("eu-1", "path")
    assert options["default_acl"] is None  # the bucket's private default, never public-read


def test_aws_takes_the_bucket_from_the_host_and_credentials_from_its_environment():
    options = s3_options("s3://elue-uploads", "uploads")
    assert (options["bucket_name"], options["location"]) == ("elue-uploads", "uploads")
    assert options["endpoint_url"] is None and "access_key" not in options


@pytest.mark.parametrize("url, reason", [
    ("ftp://host/bucket", "expected one of"),
    ("s3+http://k:secret-value@host:1/", "no bucket"),
    ("s3+http://k:secret-value@host:1/b?colour=red", "unknown parameter"),
    ("s3+http://k:secret-value@host:1/b?addressing=sideways", "addressing must be"),
])
def test_a_bad_url_is_refused_without_repeating_its_secret(url, reason):
    with pytest.raises(ImproperlyConfigured, match=reason) as refused:
        s3_options(url, "uploads")
    assert "secret-value" not in str(refused.value)


def test_an_upload_goes_to_its_prefix_and_comes_back_in_scratch(object_store, s3_server,
                                                                tmp_path):
    name = uploads().save("submissions/a.zip", ContentFile(b"PK zip bytes"))
    prefix = object_store.rsplit("/", 1)[1]
    assert s3_server.object_keys(prefix) == [f"{prefix}/uploads/submissions/a.zip"]
    copy = uploads().materialize(name, tmp_path / "scratch")
    assert copy.read_bytes() == b"PK zip bytes" and copy.is_relative_to(tmp_path / "scratch")
    uploads().delete(name)
    assert s3_server.object_keys(prefix) == []
    with pytest.raises(FileNotFoundError):
        uploads().materialize(name, tmp_path / "again")


def test_no_url_serves_a_stored_label_file(object_store, s3_server):
    """The hidden labels: private objects, refused to a request without credentials."""
    hidden_data().save("SST-2/test_full.tsv", ContentFile(b"index\tlabel\n0\t1\n"))
    key = f"{object_store.rsplit('/', 1)[1]}/data/SST-2/test_full.tsv"
    assert key in s3_server.object_keys()
    anonymous = requests.get(f"{s3_server.endpoint}/{s3_server.BUCKET}/{key}", timeout=10)
    assert anonymous.status_code == 403 and b"label" not in anonymous.content
    listing = requests.get(f"{s3_server.endpoint}/{s3_server.BUCKET}/", timeout=10)
    assert listing.status_code == 403 and b"test_full" not in listing.content


@pytest.mark.django_db
def test_healthz_reports_the_object_store(client, object_store):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["store"]["status"] == "ok"


@pytest.mark.django_db
def test_healthz_names_the_store_when_it_does_not_answer(client, settings):
    url = f"s3+http://k:s@127.0.0.1:{free_port()}/elue"
    settings.STORAGES = {**settings.STORAGES,
                         "default": storage_settings(url, "uploads", "elue.storage.LocalStore")}
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok" and checks["store"]["status"] == "error"
    assert "Connect" in checks["store"]["error"]


@pytest.mark.django_db
def test_healthz_reports_the_local_folders(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    assert client.get("/healthz").json()["checks"]["store"]["status"] == "ok"
    assert (tmp_path / "uploads").is_dir()


def test_the_bucket_is_created_once_by_a_command(settings, s3_server):
    from io import StringIO

    from django.core.management import call_command

    url = s3_server.url.rsplit("/", 1)[0] + "/fresh-bucket"
    settings.STORAGES = {**settings.STORAGES,
                         "default": storage_settings(url, "uploads", "elue.storage.LocalStore"),
                         "elue_data": storage_settings(url, "data",
                                                       "elue.storage.HiddenDataStorage")}
    out = StringIO()
    call_command("elue_create_buckets", stdout=out)
    assert "uploads: created bucket fresh-bucket" in out.getvalue()
    again = StringIO()
    call_command("elue_create_buckets", stdout=again)
    assert "created" not in again.getvalue() and again.getvalue().count("ready") == 2
    names = {b["Name"] for b in s3_server.client().list_buckets()["Buckets"]}
    assert "fresh-bucket" in names

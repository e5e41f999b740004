"""``ELUE_STORAGE_URL``: where uploads and the hidden test data are stored, as Django
``STORAGES`` entries (read by ``elue/settings.py``; the backends are in ``elue/storage.py``).

Empty (the default): folders on the local file system, ``ELUE_UPLOAD_DIR`` and
``ELUE_DATA_ROOT``; every web and worker process must then see the same folder. Otherwise an
S3-compatible object store, reached only through the S3 API (AWS S3, SeaweedFS, Garage, Ceph):

- ``s3://BUCKET[/PREFIX]``: AWS S3, credentials from the usual AWS variables or role;
- ``s3+http://KEY:SECRET@HOST:PORT/BUCKET[/PREFIX]`` (or ``s3+https://``): any other server.

Query parameters: ``region`` (default ``us-east-1``) and ``addressing`` (``path``, the default
for a server of one's own, or ``virtual``). Uploads go under ``PREFIX/uploads/`` and the
hidden test data under ``PREFIX/data/``. Nothing is made public: objects get no ACL (the
bucket's private default), and no view ever builds a URL to one.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SCHEMES = {"s3": None, "s3+http": "http", "s3+https": "https"}
ADDRESSING = ("path", "virtual", "auto")


def _fail(url: str, reason: str) -> ImproperlyConfigured:
    # The URL may hold a secret key: never repeat it whole.
    shown = url.split("@")[-1]
    return ImproperlyConfigured(f"ELUE_STORAGE_URL (…{shown}): {reason}")


def s3_options(url: str, folder: str) -> dict:
    """The ``OPTIONS`` of ``elue.storage.S3Store`` for ``url``, under ``PREFIX/folder``."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise _fail(url, f"expected one of {', '.join(f'{s}://' for s in SCHEMES)}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"region", "addressing"}
    if unknown:
        raise _fail(url, f"unknown parameter(s) {', '.join(sorted(unknown))}")
    protocol = SCHEMES[parts.scheme]
    if protocol is None:  # AWS: the host is the bucket
        bucket, path = parts.hostname or "", parts.path
        endpoint, addressing = None, query.get("addressing", "auto")
    else:
        bucket, _, path = parts.path.lstrip("/").partition("/")
        endpoint = f"{protocol}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        addressing = query.get("addressing", "path")
    if not bucket:
        raise _fail(url, "no bucket named")
    if addressing not in ADDRESSING:
        raise _fail(url, f"addressing must be one of {', '.join(ADDRESSING)}")
    prefix = "/".join(p for p in (path.strip("/"), folder) if p)
    options = {"bucket_name": bucket, "location": prefix, "endpoint_url": endpoint,
               "region_name": query.get("region", "us-east-1"), "addressing_style": addressing,
               "signature_version": "s3v4", "file_overwrite": True, "default_acl": None,
               "querystring_auth": True}
    if parts.username:
        options["access_key"] = unquote(parts.username)
        options["secret_key"] = unquote(parts.password or "")
    return options


def storage_settings(url: str, folder: str, local_backend: str) -> dict:
    """One ``STORAGES`` entry: ``local_backend`` without a URL, else the S3 store."""
    if not url:
        return {"BACKEND": local_backend}
    return {"BACKEND": "elue.s3.S3Store", "OPTIONS": s3_options(url, folder)}

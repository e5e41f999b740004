"""Where uploads and the hidden test data are kept: two Django storages (``STORAGES`` in
``elue/settings.py``, chosen by ``ELUE_STORAGE_URL``, see ``elue/storage_url.py``).

- ``uploads()``: the submitted bundles (``STORAGES["default"]``).
- ``hidden_data()``: the test inputs and hidden labels (``STORAGES["elue_data"]``).

Both are private: nothing serves them by URL. Each backend adds what ELUE needs on top of
Django's storage API: ``materialize`` (a local path to read a stored file from: the file
itself on a local disk, a copy downloaded into the caller's scratch folder from an object
store) and ``check`` (for ``/healthz``). The S3 backend is ``elue.s3.S3Store``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages


class LocalStore(FileSystemStorage):
    """A folder on this machine (by default ``ELUE_UPLOAD_DIR``, Django's ``MEDIA_ROOT``)."""

    def materialize(self, name: str, scratch: Path) -> Path:
        """The stored file itself: nothing to copy on a local disk."""
        path = Path(self.path(name))
        if not path.is_file():
            raise FileNotFoundError(f"{name} is not stored")
        return path

    def check(self) -> None:
        """The folder exists (or can be made) and this process may write to it."""
        os.makedirs(self.location, exist_ok=True)
        if not os.access(self.location, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.location} is not writable")


class HiddenDataStorage(LocalStore):
    """The hidden test data in ``ELUE_DATA_ROOT``; a re-import replaces files in place."""

    def __init__(self, **options):
        options.setdefault("allow_overwrite", True)
        super().__init__(**options)

    @property
    def base_location(self) -> str:
        # Read on every use, so that a changed ELUE_DATA_ROOT (a test's) takes effect.
        return str(self._value_or_setting(self._location, settings.ELUE_DATA_ROOT))

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def uploads() -> Storage:
    return storages["default"]


def hidden_data() -> Storage:
    return storages["elue_data"]


def check_stores() -> None:
    """Raise if the upload or the hidden-data store cannot be reached."""
    for store in (uploads(), hidden_data()):
        store.check()

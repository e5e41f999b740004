"""python manage.py elue_create_buckets: create the object store's buckets if missing."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from elue.storage import hidden_data, uploads


class Command(BaseCommand):
    help = ("With ELUE_STORAGE_URL (and ELUE_DATA_STORAGE_URL) naming an S3-compatible store, "
            "create their buckets if they do not exist yet (private: nothing in them is ever "
            "served by URL), then check that both answer. Local folders: only the check. "
            "Running it again changes nothing.")

    def handle(self, **options):
        for what, store in (("uploads", uploads()), ("hidden test data", hidden_data())):
            create = getattr(store, "create_bucket", None)
            if create is not None and create():
                self.stdout.write(f"{what}: created bucket {store.bucket_name}")
            store.check()
            where = getattr(store, "bucket_name", None) or store.location
            self.stdout.write(f"{what}: {where} ready")

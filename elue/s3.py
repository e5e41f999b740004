"""The S3 backend of ``elue.storage``: django-storages' ``S3Storage`` with short time-outs,
a download into scratch space, a health check and bucket creation. Only S3 API calls
(HeadBucket, CreateBucket, GetObject, PutObject, ...), so AWS S3, SeaweedFS, Garage or Ceph
all serve. Imported only when ``ELUE_STORAGE_URL`` names a store (boto3 is not light).
"""

from __future__ import annotations

from pathlib import Path

from botocore.config import Config
from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# A store that stopped answering fails a request in seconds, not minutes; transient errors
# (a restart, a 503 "slow down") are retried a few times by botocore itself.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=30,
                       retries={"mode": "standard", "max_attempts": 4})


class S3Store(S3Storage):
    def get_default_settings(self) -> dict:
        return super().get_default_settings() | {"client_config": CLIENT_CONFIG}

    def key(self, name: str) -> str:
        """The object key of ``name`` (under this store's prefix)."""
        return self._normalize_name(clean_name(name))

    def materialize(self, name: str, scratch: Path) -> Path:
        """Download ``name`` to ``scratch/name``; the caller removes its scratch folder."""
        target = Path(scratch) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.bucket.download_file(self.key(name), str(target))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(f"{name} is not stored") from None
            raise
        return target

    def check(self) -> None:
        """The bucket exists and these credentials may use it."""
        self.connection.meta.client.head_bucket(Bucket=self.bucket_name)

    def create_bucket(self) -> bool:
        """Create the bucket if it does not exist yet (private); returns whether it did."""
        client = self.connection.meta.client
        try:
            client.head_bucket(Bucket=self.bucket_name)
            return False
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
                raise
        region = self.region_name or "us-east-1"
        extra = ({} if region == "us-east-1" else
                 {"CreateBucketConfiguration": {"LocationConstraint": region}})
        client.create_bucket(Bucket=self.bucket_name, **extra)
        return True

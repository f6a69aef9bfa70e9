"""R17: how long a KMS-activated device keeps working after moving to CSP."""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger import _validate

KMS_GRACE = timedelta(days=180)


def kms_migration_deadline(activated_at: datetime) -> datetime:
    """The instant (UTC) by which the MAK must be deployed: KMS activation + 180 days."""
    return _validate.aware_utc("activated_at", activated_at) + KMS_GRACE

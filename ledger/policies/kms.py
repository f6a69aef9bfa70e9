"""R17: how long a KMS-activated device keeps working after moving to CSP."""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger import _validate
from ledger.errors import InvalidInput

KMS_GRACE = timedelta(days=180)


def kms_migration_deadline(activated_at: datetime) -> datetime:
    """The instant (UTC) by which the MAK must be deployed: KMS activation + 180 days."""
    moment = _validate.aware_utc("activated_at", activated_at)
    try:
        return moment + KMS_GRACE
    except OverflowError:
        raise InvalidInput(
            "activated_at", "is too late: 180 days later is past year 9999"
        ) from None

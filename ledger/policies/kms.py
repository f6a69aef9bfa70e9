"""R3: licences are MAK only; R17: how long a KMS-activated device keeps working after CSP."""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger import _validate
from ledger.errors import InvalidInput, KmsNotAllowed

__all__ = [
    "ACTIVATIONS",
    "ISSUED_ACTIVATION",
    "kms_migration_deadline",
    "require_issued_activation",
]

#: The activation types there are; "KMS" is known, and refused (R3).
ACTIVATIONS = ("MAK", "KMS")
#: R3: the only activation a licence is issued with.
ISSUED_ACTIVATION = "MAK"

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


def require_issued_activation(activation: str) -> None:
    """R3: a purchase for KMS activation is refused; licences are MAK only."""
    if activation != ISSUED_ACTIVATION:
        raise KmsNotAllowed("activation is MAK only; KMS keys are not issued")

"""ledger: an event-sourced order ledger for software sold through a cloud reseller programme.

>>> from ledger import Ledger
>>> with Ledger.open() as led:  # memory://
...     ...
"""

from ledger.application import Ledger
from ledger.money import Money
from ledger.policies.cancellation import CancellationPolicy
from ledger.policies.kms import kms_migration_deadline
from ledger.values import (
    ActivityEntry,
    Actor,
    Cancellation,
    CancellationStatus,
    CreditLine,
    CreditStatement,
    Customer,
    DownloadLink,
    FeedItem,
    FeedPage,
    OrderId,
    Product,
    ProductKind,
    RefundRequest,
    Role,
    SoftwareItem,
    WebhookEndpoint,
)

__all__ = [
    "ActivityEntry",
    "Actor",
    "Cancellation",
    "CancellationPolicy",
    "CancellationStatus",
    "CreditLine",
    "CreditStatement",
    "Customer",
    "DownloadLink",
    "FeedItem",
    "FeedPage",
    "Ledger",
    "Money",
    "OrderId",
    "Product",
    "ProductKind",
    "RefundRequest",
    "Role",
    "SoftwareItem",
    "WebhookEndpoint",
    "kms_migration_deadline",
]

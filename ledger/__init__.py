"""ledger: an event-sourced order ledger for software sold through a cloud reseller programme.

>>> from ledger import Ledger
>>> with Ledger.open() as led:  # memory://
...     ...
"""

from ledger.application import Ledger
from ledger.audit.what_if import WhatIfReport
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
    OrderTerms,
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
    "OrderTerms",
    "Product",
    "ProductKind",
    "RefundRequest",
    "Role",
    "SoftwareItem",
    "WebhookEndpoint",
    "WhatIfReport",
    "kms_migration_deadline",
]

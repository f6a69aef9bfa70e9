"""One aggregate per module; importing them registers their event topics."""

from ledger.aggregates.audit_seal import AuditSeal
from ledger.aggregates.licence import Licence
from ledger.aggregates.order import Order
from ledger.aggregates.refund import Refund
from ledger.aggregates.tenant import Tenant
from ledger.aggregates.webhook import Webhook

__all__ = ["AuditSeal", "Licence", "Order", "Refund", "Tenant", "Webhook"]

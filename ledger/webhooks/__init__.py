"""Signed webhooks (SPEC §9): `Deliverer` POSTs each endpoint's feed items, per Standard Webhooks.

Needs the ``webhooks`` extra (httpx). Endpoints are registered with
`Ledger.add_webhook`; ``ledger webhooks deliver`` runs a `Deliverer`.
"""

from ledger.webhooks.deliverer import Backoff, Deliverer, DeliveryStatus

__all__ = ["Backoff", "Deliverer", "DeliveryStatus"]

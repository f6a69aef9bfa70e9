"""Webhook endpoints (SPEC §9): registered, listed and removed as recorded commands.

The signing secret is made here, sealed like a licence key (R14: only its
ciphertext is in the event, under a data key of the endpoint's own) and shown
once, in what `add_webhook` returns. Delivery is `ledger.webhooks.Deliverer`.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable
from urllib.parse import urlsplit
from uuid import UUID

from ledger import _validate
from ledger.aggregates import Webhook
from ledger.application.commands import Call, command, query
from ledger.application.core import WEBHOOK, LedgerCore
from ledger.application.feed import types as feed_types
from ledger.errors import InvalidInput
from ledger.policies import access
from ledger.projections import webhooks
from ledger.values import WebhookEndpoint

__all__ = ["WebhookCommands", "new_secret", "secret_bytes"]

MAX_URL_LENGTH = 2000
_SECRET_PREFIX = "whsec_"
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return _SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(_SECRET_PREFIX))


def endpoint_url(field: str, value: object) -> str:
    """An absolute http(s) URL with a host (no spaces or control characters)."""
    text = _validate.text(field, value)
    problem = "must be an absolute http:// or https:// URL with a host"
    if len(text) > MAX_URL_LENGTH or _UNSAFE.search(text):
        raise InvalidInput(field, problem)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # a port that is not a number raises here
    except ValueError:
        raise InvalidInput(field, problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(field, problem)
    return text


class WebhookCommands(LedgerCore):
    @command(
        access.MANAGE_WEBHOOKS,
        checks={"url": endpoint_url, "types": feed_types},
        logged=("url",),
    )
    def add_webhook(
        self, call: Call[None], url: str, types: Iterable[str] | None = None
    ) -> WebhookEndpoint:
        """Register an endpoint for the actor's partner; its ``secret`` is shown only here."""
        endpoint_id, secret, now = call.new_id(), new_secret(), call.now()
        wanted = None if types is None else tuple(types)
        webhook = Webhook.add(
            endpoint_id=endpoint_id,
            partner_id=call.partner_id,
            url=url,
            types=wanted,
            secret_ciphertext=self._vault.seal(endpoint_id, secret),
            user=call.user,
            now=now,
        )
        self._uow.save(webhook)
        call.context["endpoint_id"] = str(endpoint_id)
        return WebhookEndpoint(endpoint_id, url, wanted, now, secret)

    @query(access.MANAGE_WEBHOOKS)
    def webhooks(self, call: Call[None]) -> list[WebhookEndpoint]:
        """The partner's endpoints in force, oldest first (never their secrets)."""
        return webhooks.for_partner(self._views_ready(), call.partner_id)

    @command(
        access.MANAGE_WEBHOOKS,
        sees=WEBHOOK,
        checks={"endpoint_id": _validate.uuid},
        logged=("endpoint_id",),
    )
    def remove_webhook(self, call: Call[Webhook], endpoint_id: UUID) -> None:
        """Stop delivering to the endpoint (what it was sent stays sent)."""
        call.seen.remove(call.user, call.now())
        self._uow.save(call.seen)

"""Keys, downloads and copied links (R4, R5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from ledger.errors import AccessDenied, InvalidInput, KeyRevoked, OrderNotFound
from ledger.testing.commands.base import Command, Context, Expected, Names
from ledger.testing.mismatch import require_equal
from ledger.testing.model import ModelOrder, ReferenceModel, handles_keys, sees
from ledger.values import Actor

__all__ = ["LINK_LIFETIME", "Download", "ViewKey"]

#: R4: a download link expires 14 days after it is made.
LINK_LIFETIME = timedelta(days=14)


def _expect_key_access(actor: Actor, order: ModelOrder | None) -> Expected:
    if order is None or not sees(actor, order.partner_id, order.tenant_id):
        return OrderNotFound
    return None if handles_keys(actor) else AccessDenied


@dataclass(frozen=True)
class ViewKey(Command):
    actor: Actor
    order: str

    #: The result is the licence key: a story never shows it (R14).
    SHOWS_RESULT: ClassVar[bool] = False

    def run(self, context: Context) -> Any:
        return context.ledger.view_key(self.actor, context.order_id(self.order))

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        order = model.orders.get(context.order_id(self.order))
        refused = _expect_key_access(self.actor, order)
        return refused or (KeyRevoked if order is not None and order.revoked else None)

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        order = model.orders[context.order_id(self.order)]
        if order.key is None:
            order.key = result
        require_equal(result, order.key, f"the licence key of order {order.order_id} never changes")
        model.log(self.actor, order, "key_viewed", now)

    def describe(self, at: datetime, names: Names) -> str:
        return f"{names.actor(self.actor)} views the key of {self.order}"


@dataclass(frozen=True)
class Download(Command):
    """`Ledger.download`, or `Ledger.copy_link` when ``copy`` is true."""

    actor: Actor
    order: str
    version: str
    language: str
    bitness: int
    copy: bool = False

    SHOWS_RESULT: ClassVar[bool] = False

    def run(self, context: Context) -> Any:
        led = context.ledger
        link = led.copy_link if self.copy else led.download
        return link(
            self.actor, context.order_id(self.order), self.version, self.language, self.bitness
        )

    def expect(self, model: ReferenceModel, now: datetime, context: Context) -> Expected:
        order = model.orders.get(context.order_id(self.order))
        refused = _expect_key_access(self.actor, order)
        if refused is not None or order is None:
            return refused
        offered = order.product
        if not (
            self.version in offered.versions
            and self.language in offered.languages
            and self.bitness in offered.bitness
        ):
            return InvalidInput
        return KeyRevoked if order.revoked else None

    def record(self, model: ReferenceModel, result: Any, now: datetime, context: Context) -> None:
        order = model.orders[context.order_id(self.order)]
        expires = now + LINK_LIFETIME
        require_equal(result.expires_at, expires, "a download link expires after 14 days")
        model.log(self.actor, order, "link_copied" if self.copy else "downloaded", now)

    def describe(self, at: datetime, names: Names) -> str:
        verb = "copies the download link of" if self.copy else "downloads"
        build = f"({self.version}, {self.language}, {self.bitness}-bit)"
        return f"{names.actor(self.actor)} {verb} {self.order} {build}"

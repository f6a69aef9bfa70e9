"""SPEC §9: webhook endpoints as recorded commands, and their delivery to a real receiver.

Signatures are checked with the ``standardwebhooks`` package, not with our code.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from ledger import Ledger, Money, Role
from ledger.errors import AccessDenied, InvalidInput, WebhookNotFound
from ledger.webhooks import Backoff, Deliverer, DeliveryStatus
from tests.support import AGENT, add_tenant, buy, footprint, partner
from tests.webhook_receiver import first_seen, running_receiver

BILLING = partner("bill", Role.ACCOUNT_ADMIN)
OTHER = partner("olga", Role.ADMIN_AGENT, partner_id="P2")
KEY = b"w" * 32


# -- the commands ----------------------------------------------------------------------------


def test_endpoints_are_added_listed_without_their_secret_and_removed(led: Ledger) -> None:
    added = led.add_webhook(BILLING, "https://billing.example/hooks", types=["credit.issued"])
    assert added.secret is not None
    assert added.secret.startswith("whsec_")
    assert added.secret not in repr(added)
    StandardWebhook(added.secret)  # a secret the standard's own library accepts
    listed = led.webhooks(BILLING)
    assert [(e.id, e.url, e.types, e.secret) for e in listed] == [
        (added.id, "https://billing.example/hooks", ("credit.issued",), None)
    ]
    assert led.webhooks(OTHER) == []
    with pytest.raises(WebhookNotFound):
        led.remove_webhook(OTHER, added.id)
    led.remove_webhook(BILLING, added.id)
    assert led.webhooks(BILLING) == []
    with pytest.raises(WebhookNotFound):
        led.remove_webhook(BILLING, added.id)


@pytest.mark.parametrize(
    ("url", "types", "field"),
    [
        ("ftp://billing.example/hooks", None, "url"),
        ("billing.example/hooks", None, "url"),
        ("https://", None, "url"),
        ("https://billing.example:port/hooks", None, "url"),
        ("https://billing.example/ho oks", None, "url"),
        ("", None, "url"),
        (42, None, "url"),
        ("https://billing.example/hooks", ["order.exploded"], "types"),
        ("https://billing.example/hooks", [], "types"),
    ],
)
def test_add_webhook_bad_input_names_the_field_and_records_nothing(
    led: Ledger, url: Any, types: Any, field: str
) -> None:
    before = footprint(led)
    with pytest.raises(InvalidInput) as refused:
        led.add_webhook(BILLING, url, types=types)
    assert refused.value.field == field
    assert footprint(led) == before


def test_webhooks_are_managed_by_the_billing_roles_only(led: Ledger) -> None:
    with pytest.raises(AccessDenied):
        led.add_webhook(partner("sue", Role.SALES_AGENT), "https://billing.example/hooks")
    with pytest.raises(AccessDenied):
        led.webhooks(partner("sue", Role.SALES_AGENT))


# -- delivery ---------------------------------------------------------------------------------


@contextmanager
def delivering(url: str, **options: Any) -> Iterator[Deliverer]:
    deliverer = Deliverer(
        url,
        secret_key=KEY,
        poll_interval=0.02,
        timeout=options.pop("timeout", 0.5),
        backoff=Backoff(first=0.05, longest=0.2),
        **options,
    )
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, kwargs={"until": stop})
    thread.start()
    try:
        yield deliverer
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive()


def settled(deliverer: Deliverer, url_end: str) -> DeliveryStatus:
    """The endpoint's status once nothing waits for it: the last 2xx reaches the receiver
    a moment before its position is stored."""
    deadline = time.monotonic() + 10
    while True:
        (status,) = [s for s in deliverer.status() if s.url.endswith(url_end)]
        if status.lag_items == 0 or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def history(led: Ledger, orders: int = 3) -> list[str]:
    """A customer and ``orders`` purchases, the first cancelled; the partner's feed ids."""
    tenant_id = add_tenant(led)
    bought = [buy(led, tenant_id, unit_price=Money("10.00", "EUR")) for _ in range(orders)]
    led.cancel(AGENT, bought[0])
    return [item.id for item in led.feed(BILLING, limit=1000).items]


def test_items_are_delivered_in_log_order_signed_per_standard_webhooks(durable_url: str) -> None:
    with running_receiver() as receiver, Ledger.open(durable_url, secret_key=KEY) as led:
        endpoint = led.add_webhook(BILLING, receiver.url("/all"))
        credits = led.add_webhook(BILLING, receiver.url("/credits"), types=["credit.issued"])
        expected = history(led)
        with delivering(durable_url):
            assert receiver.wait_for("/all", len(expected)) == expected
            assert len(receiver.wait_for("/credits", 1)) == 1
        assert endpoint.secret is not None
        assert credits.secret is not None
        verifier = StandardWebhook(endpoint.secret)
        for request in receiver.bodies("/all"):
            item = verifier.verify(request.body, request.headers)
            assert item["id"] == request.headers["webhook-id"]
        (credit,) = receiver.bodies("/credits")
        assert StandardWebhook(credits.secret).verify(credit.body, credit.headers)["type"] == (
            "credit.issued"
        )
        with pytest.raises(Exception, match="signature"):
            StandardWebhook(credits.secret).verify(receiver.bodies("/all")[0].body, credit.headers)
        assert receiver.most_in_flight["/all"] == 1


def test_failures_are_retried_in_order_with_the_same_id_and_nothing_is_skipped(
    durable_url: str,
) -> None:
    with running_receiver() as receiver, Ledger.open(durable_url, secret_key=KEY) as led:
        led.add_webhook(BILLING, receiver.url("/flaky"))
        expected = history(led)
        receiver.script["/flaky"] = [500, 503, ("sleep", 1.0), "close", "garbage", 404]
        with delivering(durable_url) as deliverer:
            assert receiver.wait_for("/flaky", len(expected)) == expected
            status = settled(deliverer, "/flaky")
        ids = receiver.ids("/flaky")
        assert ids[:7] == [expected[0]] * 7, "the first item was retried until it got a 2xx"
        assert first_seen(ids) == expected
        assert status.lag_items == 0
        assert status.attempts == 0
        assert status.cursor == led.feed(BILLING, limit=1000).items[-1].cursor


def test_a_dead_endpoint_holds_back_no_other_endpoint(durable_url: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    with running_receiver() as receiver, Ledger.open(durable_url, secret_key=KEY) as led:
        led.add_webhook(BILLING, f"http://127.0.0.1:{dead_port}/gone")
        led.add_webhook(BILLING, receiver.url("/slow"))
        receiver.script["/slow"] = [("sleep", 5.0)] * 50
        led.add_webhook(BILLING, receiver.url("/live"))
        expected = history(led, orders=5)
        with delivering(durable_url) as deliverer:
            started = time.monotonic()
            assert receiver.wait_for("/live", len(expected), timeout=10) == expected
            took = time.monotonic() - started
            settled(deliverer, "/live")
            statuses = {s.url.rsplit("/", 1)[1]: s for s in deliverer.status()}
        assert took < 5, "the live endpoint waited for the dead and the slow ones"
        assert statuses["gone"].last_error is not None
        assert "ConnectError" in statuses["gone"].last_error
        assert statuses["gone"].lag_items == len(expected)
        assert statuses["gone"].attempts >= 1
        assert statuses["live"].lag_items == 0


def test_two_deliverers_serve_each_endpoint_one_at_a_time(durable_url: str) -> None:
    with running_receiver() as receiver, Ledger.open(durable_url, secret_key=KEY) as led:
        for path in ("/a", "/b", "/c"):
            led.add_webhook(BILLING, receiver.url(path))
        expected = history(led, orders=6)
        with delivering(durable_url, name="first"), delivering(durable_url, name="second"):
            for path in ("/a", "/b", "/c"):
                assert receiver.wait_for(path, len(expected)) == expected
        for path in ("/a", "/b", "/c"):
            assert receiver.ids(path) == expected, "each item once: no two deliverers raced"
            assert receiver.most_in_flight[path] == 1


def test_a_removed_endpoint_gets_nothing_more(durable_url: str) -> None:
    with running_receiver() as receiver, Ledger.open(durable_url, secret_key=KEY) as led:
        endpoint = led.add_webhook(BILLING, receiver.url("/gone-soon"))
        expected = history(led, orders=1)
        with delivering(durable_url):
            assert receiver.wait_for("/gone-soon", len(expected)) == expected
            led.remove_webhook(BILLING, endpoint.id)
            time.sleep(0.3)
            buy(led, add_tenant(led))
            time.sleep(0.5)
        assert receiver.ids("/gone-soon") == expected


def test_a_webhook_secret_opens_only_with_the_stores_key(durable_url: str) -> None:
    with Ledger.open(durable_url, secret_key=KEY) as led:
        endpoint = led.add_webhook(BILLING, f"https://billing.example/{uuid4()}")
    deliverer = Deliverer(durable_url, secret_key=KEY)
    try:
        (status,) = deliverer.status()
        assert status.endpoint_id == endpoint.id
    finally:
        deliverer.stop()

"""R21 on every store: the auditor's role, and the ledger's own trail.

* `Role.AUDITOR` reads everything of the partners it is granted (a partner's
  auditor: its own; the vendor's: all), history, ``as_of``, exports and reports
  included, and writes nothing; each audit read checks its actor.
* Audit reads, admin actions and refused attempts are rows of the store's trail
  (who, what, when, why refused, origin), readable by auditors; a refused call
  writes its trail row and nothing else, and a flood of refusals grows the trail
  by at most ``REFUSALS_PER_MINUTE + 1`` rows a minute.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from ledger import Actor, Ledger, Role
from ledger.audit.trail import REFUSALS_PER_MINUTE
from ledger.errors import AccessDenied, CustomerNotFound
from tests.support import (
    AGENT,
    QUIET,
    ManualClock,
    footprint,
    partner,
    tenant_with_order,
    vendor_auditor,
)

PARTNER_AUDITOR = Actor(user="pia", roles={Role.AUDITOR}, partner_id="P1")
OTHER_AUDITOR = Actor(user="oscar", roles={Role.AUDITOR}, partner_id="P2")
SALES = partner("sid", Role.SALES_AGENT)


@pytest.fixture
def shop(store_url: str) -> tuple[Ledger, ManualClock]:
    clock = ManualClock()
    led = Ledger.open(store_url, clock=clock, logger=QUIET, origin="billing-7 (test)")
    yield led, clock  # type: ignore[misc]
    led.close()


def test_a_refused_call_writes_its_trail_row_and_nothing_else(
    shop: tuple[Ledger, ManualClock],
) -> None:
    led, clock = shop
    _, order_id = tenant_with_order(led)
    led.software(AGENT, led.customers(AGENT)[0].tenant_id)
    before = footprint(led)
    with pytest.raises(AccessDenied):
        led.cancel(SALES, order_id)
    assert footprint(led) == before
    (row,) = [e for e in led.audit.trail(vendor_auditor()) if e.kind == "refused"]
    assert (row.user, row.roles, row.partner_id, row.action) == (
        "sid",
        ("SALES_AGENT",),
        "P1",
        "cancel",
    )
    assert row.reason is not None
    assert "sid may not cancel orders" in row.reason
    assert row.first_at == clock()
    assert row.count == 1
    assert row.origin == "billing-7 (test)"


def test_a_flood_of_refusals_is_bounded_per_minute(shop: tuple[Ledger, ManualClock]) -> None:
    led, clock = shop
    _, order_id = tenant_with_order(led)
    for _ in range(300):  # the same refusal, over and over: one row counting them
        with pytest.raises(AccessDenied):
            led.cancel(SALES, order_id)
    for n in range(REFUSALS_PER_MINUTE + 150):  # as many users as an attacker can invent
        with pytest.raises(AccessDenied):
            led.cancel(partner(f"u{n}", Role.SALES_AGENT), order_id)
    refused = [e for e in led.audit.trail() if e.kind == "refused"]
    assert len(refused) == REFUSALS_PER_MINUTE + 1
    assert sum(e.count for e in refused) == 300 + REFUSALS_PER_MINUTE + 150
    overflow = [e for e in refused if e.action == "*"]
    assert [e.count for e in overflow] == [150 + 1]  # the 101st distinct one and on
    clock.advance(timedelta(minutes=1))
    with pytest.raises(AccessDenied):
        led.cancel(SALES, order_id)
    assert len([e for e in led.audit.trail() if e.kind == "refused"]) == REFUSALS_PER_MINUTE + 2


def test_audit_reads_and_admin_actions_are_in_the_trail(
    shop: tuple[Ledger, ManualClock], tmp_path: Path
) -> None:
    led, clock = shop
    tenant_id, _ = tenant_with_order(led)
    with led.audit.as_of(clock(), actor=vendor_auditor()) as then:
        assert len(then.software(tenant_id)) == 1
    led.audit.export_events(tmp_path / "events.jsonl", actor=vendor_auditor())
    led.audit.export_credits(io.StringIO(), "2026-11", actor=PARTNER_AUDITOR)
    led.rebuild_views(actor="ops@vendor")
    led.rewrap_keys(actor=vendor_auditor())
    rows = [(e.kind, e.action, e.user) for e in led.audit.trail(vendor_auditor())]
    assert rows[:5] == [
        ("read", "audit.as_of", "vera"),
        ("read", "audit.export_events", "vera"),
        ("read", "audit.export_credits", "pia"),
        ("admin", "rebuild_views", "ops@vendor"),
        ("admin", "rewrap_keys", "vera"),
    ]
    assert rows[-1] == ("read", "audit.trail", "vera"), "reading the trail is an audit read"
    exported = next(e for e in led.audit.trail() if e.action == "audit.export_credits")
    assert exported.partner_id == "P1"
    assert exported.detail["partner_id"] == "P1"


def test_a_partner_auditor_reads_its_own_partner_only_and_writes_nothing(
    shop: tuple[Ledger, ManualClock],
) -> None:
    led, clock = shop
    tenant_id, order_id = tenant_with_order(led)
    assert len(led.software(PARTNER_AUDITOR, tenant_id)) == 1
    led.activity_log(PARTNER_AUDITOR, clock().date(), clock().date())
    assert led.monthly_credits(PARTNER_AUDITOR, "2026-11").lines == ()
    with led.audit.as_of(clock(), actor=PARTNER_AUDITOR) as then:
        assert then.monthly_credits("P1", "2026-11").lines == ()
        with pytest.raises(AccessDenied, match="only its own partner"):
            then.monthly_credits("P2", "2026-11")
    with pytest.raises(AccessDenied, match="only its own partner"):
        led.audit.export_activity(
            io.StringIO(), clock(), clock(), partner_id="P2", actor=PARTNER_AUDITOR
        )
    for refused in (
        lambda: led.audit.export_events(io.StringIO(), actor=PARTNER_AUDITOR),
        lambda: led.audit.as_of(clock(), actor=SALES),
        lambda: led.cancel(PARTNER_AUDITOR, order_id),
        lambda: led.view_key(PARTNER_AUDITOR, order_id),
    ):
        before = footprint(led)
        with pytest.raises(AccessDenied):
            refused()
        assert footprint(led) == before
    with pytest.raises(CustomerNotFound):  # P2's auditor: P1's customer does not exist for it
        led.software(OTHER_AUDITOR, tenant_id)


def test_the_trail_outlives_a_views_rebuild_and_a_partner_auditor_reads_its_own_rows(
    shop: tuple[Ledger, ManualClock],
) -> None:
    led, clock = shop
    _, order_id = tenant_with_order(led)
    with pytest.raises(AccessDenied):
        led.cancel(SALES, order_id)
    with pytest.raises(AccessDenied):
        led.activity_log(partner("zed", Role.SALES_AGENT, partner_id="P2"), clock(), clock())
    led.rebuild_views()
    mine = led.audit.trail(PARTNER_AUDITOR)
    assert {e.partner_id for e in mine} == {"P1"}
    everyone = led.audit.trail(vendor_auditor())
    assert {"P1", "P2"} <= {e.partner_id for e in everyone}
    with pytest.raises(AccessDenied):
        led.audit.trail(SALES)

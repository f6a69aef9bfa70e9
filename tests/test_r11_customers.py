"""R11: `Ledger.customers` lists the customers a partner registered, and only those.

Runs on memory, SQLite and PostgreSQL; the upgrade tests open a durable store
whose views were built before the customer list existed.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from ledger import Actor, Customer, Ledger, Role
from ledger.errors import AccessDenied, InvalidInput
from tests.support import AGENT, ManualClock, customer, customer_admin, partner, support


def test_r11_a_partner_lists_its_customers_oldest_first(led: Ledger) -> None:
    first, second = customer("NL"), customer("AU")
    led.add_customer(AGENT, first)
    led.add_customer(partner("sid", Role.SALES_AGENT), second)
    assert led.customers(AGENT) == [first, second]
    # Any partner user of the partner, whatever its roles.
    assert led.customers(Actor(user="nobody", roles=set(), partner_id="P1")) == [first, second]


def test_r11_two_partners_each_see_their_own_registration_of_one_tenant(led: Ledger) -> None:
    tenant = uuid4()
    mine = Customer(tenant, "contoso.example", "Contoso", "NL")
    theirs = Customer(tenant, "contoso.nl", "Contoso B.V.", "BE")
    led.add_customer(AGENT, mine)
    other = partner("olga", Role.ADMIN_AGENT, partner_id="P2")
    led.add_customer(other, customer("DE"))
    led.add_customer(other, theirs)
    assert led.customers(AGENT) == [mine]
    assert led.customers(other)[1] == theirs
    assert led.customers(partner("x", partner_id="P3")) == []
    # Registering again with the same details changes nothing.
    led.add_customer(AGENT, mine)
    assert led.customers(AGENT) == [mine]


def test_r11_customer_users_and_support_may_not_list_customers(led: Ledger) -> None:
    tenant = customer()
    led.add_customer(AGENT, tenant)
    for actor in (customer_admin(tenant.tenant_id), support()):
        with pytest.raises(AccessDenied, match="list customers: allowed are partner users"):
            led.customers(actor)
    with pytest.raises(InvalidInput, match="actor"):
        led.customers("ann")  # type: ignore[arg-type]


def test_r11_customers_survive_rebuild_and_replay(led: Ledger, clock: ManualClock) -> None:
    registered = [customer() for _ in range(3)]
    for each in registered:
        led.add_customer(AGENT, each)
    report = led.audit.rebuild()
    assert report.matches, report.differences
    assert report.rows["ledger_customers"] == 3
    led.rebuild_views()
    assert led.customers(AGENT) == registered
    assert led.customers(AGENT)[0].to_dict()["tenant_id"] == str(registered[0].tenant_id)


def _drop_customer_view(led: Ledger) -> None:
    """Make the store look like one whose views were built before the customer list."""
    views = led._views
    with views.datastore.transaction(commit=True) as cursor:
        cursor.execute(views.dialect.render("DROP TABLE {ledger_customers}"), ())


def test_r11_views_built_before_the_customer_list_are_rebuilt_once(durable_url: str) -> None:
    key = b"k" * 32
    registered = [customer(), customer("JP")]
    with Ledger.open(durable_url, secret_key=key, clock=ManualClock()) as led:
        for each in registered:
            led.add_customer(AGENT, each)
        led.catch_up()
        _drop_customer_view(led)
    with Ledger.open(durable_url, secret_key=key, views="follower") as led:
        assert led.customers(AGENT) == registered
        assert led.audit.rebuild().matches
    with Ledger.open(durable_url, secret_key=key) as led:
        assert led.customers(AGENT) == registered


def test_r11_an_upgrade_cut_short_is_done_again_at_the_next_open(
    durable_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = b"k" * 32
    with Ledger.open(durable_url, secret_key=key, clock=ManualClock()) as led:
        registered = customer()
        led.add_customer(AGENT, registered)
        led.catch_up()
        _drop_customer_view(led)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("ledger.application.ledger.rebuild_live_views", killed)
        with pytest.raises(KeyboardInterrupt):
            Ledger.open(durable_url, secret_key=key)
    with Ledger.open(durable_url, secret_key=key) as led:
        assert led.customers(AGENT) == [registered]

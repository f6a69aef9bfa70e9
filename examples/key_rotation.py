"""Rotate a store's secret key: open with the new key and the old one, rewrap, drop the old one.

Run it: ``python examples/key_rotation.py`` (a SQLite store in a temporary directory).
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from pathlib import Path
from uuid import uuid4

import structlog

from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.errors import ConfigurationError
from ledger.keys import key_id

# The application decides what is logged; here only warnings and worse.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

agent = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
office = Product("DG7GMGF0D7FV", "0002", "Office LTSC 2024", ProductKind.PERPETUAL)


def new_key() -> str:
    """What you would keep in your secret store: 32 random bytes, urlsafe base64."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def masked(key: str) -> str:
    return key[:5] + "-*****" * 4


with tempfile.TemporaryDirectory() as directory:
    url = f"sqlite:///{Path(directory) / 'ledger.db'}"
    old, new = new_key(), new_key()
    print(f"old key id {key_id(base64.urlsafe_b64decode(old))}")
    print(f"new key id {key_id(base64.urlsafe_b64decode(new))}")

    with Ledger.open(url, secret_key=old) as led:
        tenant = uuid4()
        led.add_customer(agent, Customer(tenant, "contoso.example", "Contoso", "NL"))
        first = led.purchase(agent, tenant, office, 1, Money("249.00", "EUR"))
        licence = led.view_key(agent, first)
        print(f"1. sealed under the old key: {masked(licence)}")

    try:
        Ledger.open(url, secret_key=new)
    except ConfigurationError as refused:
        print(f"2. the new key alone is refused: {refused}")

    with Ledger.open(url, secret_key=new, previous_keys=[old]) as led:
        assert led.view_key(agent, first) == licence
        second = led.purchase(agent, tenant, office, 1, Money("249.00", "EUR"))
        print("3. open with new + previous_keys=[old]: old keys read, new ones sealed under new")
        print(f"4. rewrap_keys() moved {led.rewrap_keys()} wrapped keys; no event was changed")

    with Ledger.open(url, secret_key=new) as led:
        assert led.view_key(agent, first) == licence
        print(f"5. the new key alone opens everything: {masked(led.view_key(agent, second))}")

    try:
        Ledger.open(url, secret_key=old)
    except ConfigurationError as refused:
        print(f"6. the old key is refused now: {refused}")

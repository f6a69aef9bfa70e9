"""Every LedgerError has a stable ``code`` and ``to_dict()``; docs/errors.md lists them all."""

from __future__ import annotations

import inspect
import json
import pickle
import re
import socket
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from ledger import Ledger, Money, errors
from ledger.cli.errors import EXIT_CODES
from ledger.testing import ManualClock
from tests.conftest import require_postgres
from tests.support import AGENT, add_tenant, buy, eur, product

TABLE = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
CLASSES = [
    kind
    for kind in vars(errors).values()
    if inspect.isclass(kind) and issubclass(kind, errors.LedgerError)
]


def test_every_error_has_its_own_code_and_a_row_in_docs_errors_md() -> None:
    rows = {
        match.group(2): (match.group(1), int(match.group(3)))
        for match in re.finditer(
            r"^\| `(\w+)` \| `(\w+)` \| `\w+` \| (\d) \|", TABLE.read_text(), re.M
        )
    }
    assert set(rows) == {kind.__name__ for kind in CLASSES}
    codes = [kind.code for kind in CLASSES]
    assert len(set(codes)) == len(codes), "two errors share a code"
    for kind in CLASSES:
        exit_code = next(code for base, code in EXIT_CODES if issubclass(kind, base))
        assert rows[kind.__name__] == (kind.code, exit_code), kind.__name__


def test_invalid_input_says_which_param(led: Ledger) -> None:
    with pytest.raises(errors.InvalidInput) as refused:
        led.purchase(AGENT, add_tenant(led), product(), 0, eur("1.00"))
    document = refused.value.to_dict()
    assert document["code"] == "invalid_input"
    assert document["param"] == "quantity"
    assert document["type"] == "InvalidInput"
    json.dumps(document)


def test_an_idempotency_conflict_names_the_order_the_key_made(led: Ledger) -> None:
    tenant_id = add_tenant(led)
    first = led.purchase(AGENT, tenant_id, product(), 1, eur("10.00"), idempotency_key="PO-1")
    with pytest.raises(errors.IdempotencyConflict) as refused:
        led.purchase(AGENT, tenant_id, product(), 2, eur("10.00"), idempotency_key="PO-1")
    assert refused.value.details["order_id"] == first
    assert refused.value.to_dict()["order_id"] == str(first)
    assert refused.value.to_dict()["code"] == "idempotency_conflict"


def test_a_second_cancel_says_when_and_what_the_first_credited(
    led: Ledger, clock: ManualClock
) -> None:
    order_id = buy(led, add_tenant(led), unit_price=Money("100.00", "EUR"))
    clock.advance(timedelta(days=1))
    cancellation = led.cancel(AGENT, order_id)
    with pytest.raises(errors.AlreadyCancelled) as refused:
        led.cancel(AGENT, order_id)
    document = refused.value.to_dict()
    assert document["code"] == "already_cancelled"
    assert document["credit"] == cancellation.credit.to_dict()
    assert document["cancelled_at"] == cancellation.to_dict()["cancelled_at"]
    assert document["order_id"] == str(order_id)


def test_a_replayed_purchase_says_so_in_its_result(led: Ledger) -> None:
    tenant_id = add_tenant(led)
    first = led.purchase(AGENT, tenant_id, product(), 1, eur("10.00"), idempotency_key="PO-7")
    again = led.purchase(AGENT, tenant_id, product(), 1, eur("10.00"), idempotency_key="PO-7")
    unkeyed = led.purchase(AGENT, tenant_id, product(), 1, eur("10.00"))
    assert (first.replayed, again.replayed, unkeyed.replayed) == (False, True, False)
    assert again == first
    assert isinstance(again, UUID)
    assert {first: "x"}[UUID(str(again))] == "x"
    assert pickle.loads(pickle.dumps(again)).replayed is True
    assert json.dumps(str(again)) == json.dumps(str(first))


def test_a_server_down_at_open_is_store_unavailable_a_refusal_is_configuration() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(errors.StoreUnavailable) as down:
        Ledger.open(f"postgresql://postgres@127.0.0.1:{port}/test", secret_key=b"k" * 32)
    assert down.value.to_dict()["code"] == "store_unavailable"
    require_postgres()
    with pytest.raises(errors.ConfigurationError) as refused:
        Ledger.open("postgresql://postgres@127.0.0.1:5432/no_such_database", secret_key=b"k" * 32)
    assert not isinstance(refused.value, errors.StoreUnavailable)


def test_ledger_open_without_a_url_reads_ledger_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_URL", f"sqlite:///{tmp_path / 'from-env.db'}")
    with Ledger.open(secret_key=b"k" * 32) as led:
        add_tenant(led)
    assert (tmp_path / "from-env.db").exists()
    monkeypatch.delenv("LEDGER_URL")
    with Ledger.open() as led:
        assert "memory" in led._parts.store.description

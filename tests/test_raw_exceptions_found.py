"""The raw exceptions an attacker's probe found (issue "Least privilege ... bounded waits"):
each is now an `InvalidInput` naming the field, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger import Actor, Ledger, Money, Role
from ledger.audit import verify_export
from ledger.errors import InvalidInput
from tests.support import footprint, tenant_with_order


class UnhashableRole:
    def __hash__(self) -> int:
        raise RuntimeError("no hash today")


@pytest.mark.parametrize("amount", ["1E+1000000", "-1E+1000000", "9" * 50 + "E+999999"])
def test_an_amount_with_a_huge_exponent_is_invalid_input(amount: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Money(amount, "EUR")
    assert raised.value.field == "amount"


def test_a_role_whose_hash_raises_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as raised:
        Actor(user="ann", roles=[UnhashableRole()], partner_id="P1")  # type: ignore[list-item]
    assert raised.value.field == "roles"
    assert Actor(user="ann", roles=[Role.ADMIN_AGENT], partner_id="P1").roles == {Role.ADMIN_AGENT}


def test_an_export_to_a_name_too_long_for_the_file_system_writes_nothing(
    store_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with Ledger.open(store_url) as led:
        tenant_with_order(led)
        before = footprint(led)
        for target in (out / ("x" * 300), out / ("y" * 256) / "e.jsonl"):
            with pytest.raises(InvalidInput) as raised:
                led.audit.export_events(target)
            assert raised.value.field == "target"
        assert footprint(led) == before
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("path", [None, 5, b"events.jsonl", object()])
def test_verify_export_of_something_not_a_file_is_invalid_input(path: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        verify_export(path)
    assert raised.value.field == "path"


@pytest.mark.parametrize(
    "call",
    [
        lambda led: led.rebuild_views(progress=5),
        lambda led: led.audit.verify(progress="bar"),
        lambda led: led.audit.rebuild(progress=5),
        lambda led: led.audit.as_of(datetime(2027, 1, 1, tzinfo=UTC), progress=5),
        lambda led: led.audit.export_events("unused.jsonl", progress=5),
        lambda led: verify_export("unused.jsonl", progress=5),
    ],
)
def test_a_progress_that_is_not_callable_is_invalid_input_before_any_work(
    store_url: str, call: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    with Ledger.open(store_url) as led:
        tenant_with_order(led)
        before = footprint(led)
        with pytest.raises(InvalidInput) as raised:
            call(led)
        assert raised.value.field == "progress"
        assert footprint(led) == before
    assert list(out.iterdir()) == []

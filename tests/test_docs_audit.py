"""docs/audit.md's stand-alone checker agrees with the ledger: it accepts real exports (sealed
and pre-sealing stores, JSON Lines) and refuses edited, forged and truncated ones."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from tests.support import AGENT, ManualClock, tenant_with_order
from tests.test_event_schemas import V1_SECRET, _v1_events

DOC = Path(__file__).resolve().parent.parent / "docs" / "audit.md"


def checker() -> Callable[..., str]:
    text = DOC.read_text().split("## A checker of your own", 1)[1]
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # our own document
    return namespace["check_export"]  # type: ignore[no-any-return]


def test_the_documented_checker_accepts_what_the_ledger_exports(
    led: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    check_export = checker()
    _, order = tenant_with_order(led)
    led.view_key(AGENT, order)
    clock.advance(timedelta(days=1))
    led.cancel(AGENT, order)
    signed = led.audit.digest()
    digest, head = str(signed), f"{signed.position}:{signed.hash}"
    public_key = led.audit.public_key()
    path = tmp_path / "events.jsonl"
    led.audit.export_events(path)
    key = led._parts.audit_key
    assert check_export(path, key, digest, public_key) == head
    assert check_export(path, digest=digest, public_key=public_key) == head  # nothing secret
    assert check_export(path) == head
    forged = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    with pytest.raises(ValueError, match="signed"):
        check_export(path, digest=forged, public_key=public_key)

    lines = path.read_text().splitlines()
    row = json.loads(lines[2])
    row["body"] = row["body"].replace("ann", "eve")
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join([lines[0], lines[1], json.dumps(row), *lines[3:]]) + "\n")
    with pytest.raises(ValueError, match="does not"):
        check_export(edited, key)
    with pytest.raises(ValueError, match="does not"):
        check_export(edited, public_key=public_key)  # the chain and signed tree catch it
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ValueError, match="truncated"):
        check_export(truncated)
    with pytest.raises(ValueError, match="seal"):
        check_export(path, key[::-1])  # another key


def test_the_documented_checker_accepts_a_store_sealed_after_the_fact(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    with Ledger.open(url, secret_key=V1_SECRET) as empty:
        empty._uow.events.recorder.insert_events(_v1_events())
    with Ledger.open(url, secret_key=V1_SECRET) as led:
        signed = led.audit.digest()
        digest = f"{signed.position}:{signed.hash}"
        path = tmp_path / "v1.jsonl"
        led.audit.export_events(path)
        assert checker()(path, led._parts.audit_key, digest) == digest

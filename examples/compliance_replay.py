"""A compliance auditor checks a ledger's history: digest, export, offline check, state as of.

1. During the month the auditor takes a signed digest (the chain head, the Merkle
   tree's size and root, an Ed25519 signature) and keeps it outside the database.
2. At month end the operator hands over an export of every event and the store's
   public key (which cannot forge anything); the auditor checks the export
   offline, with no database, against the digest, sees a copy with one edited
   byte fail at that row, and checks a proof of one order on its own.
3. The auditor asks the ledger what a customer's software list was on a past
   date, before an order was cancelled, and compares it with today's.

The same with the command line: ``ledger audit digest``, ``ledger audit export
PATH``, ``ledger audit public-key``, ``ledger audit verify-export PATH --digest D
--public-key PEM``, ``ledger audit prove ORDER``, ``ledger audit verify-proof FILE
--public-key PEM`` and ``ledger audit as-of DATETIME software --tenant T``.

Run it: ``python examples/compliance_replay.py`` (a SQLite store in a temporary directory).
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import ledger.logging
from ledger import Actor, Customer, Ledger, Money, Product, ProductKind, Role
from ledger.audit import verify_export, verify_proof

ANN = Actor(user="ann@fabrikam", roles={Role.ADMIN_AGENT}, partner_id="fabrikam")
# The vendor's auditor (R21): reads every partner's history, writes nothing.
AUDITOR = Actor(user="ida@audit-firm", roles={Role.AUDITOR})
CONTOSO = Customer(UUID("6b1f3c2a-0d4e-4b8a-9c1e-2f3a4b5c6d7e"), "contoso.example", "Contoso", "NL")
OFFICE = Product(
    "DG7GMGF0D7FV",
    "0002",
    "Office LTSC 2024",
    ProductKind.PERPETUAL,
    None,
    ("2024",),
    ("en-US",),
    (64,),
)
VISIO = Product("CFQ7TTC0HDH1", "0001", "Visio Plan 2", ProductKind.SUBSCRIPTION, 365)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def the_month(led: Ledger, clock: Clock) -> tuple[str, datetime, UUID]:
    """What the partner does in November; returns the digest taken on the 9th, and that day."""
    led.add_customer(ANN, CONTOSO)
    office = led.purchase(ANN, CONTOSO.tenant_id, OFFICE, 2, Money("249.00", "EUR"))
    visio = led.purchase(ANN, CONTOSO.tenant_id, VISIO, 3, Money("150.00", "EUR"))
    led.view_key(ANN, office)
    clock.now += timedelta(days=7)
    # The auditor's mid-month visit: a digest, kept where the database's operators cannot
    # change it (a ticket, a signed e-mail). Nothing secret in it.
    digest = str(led.audit.digest())
    visited = clock.now
    clock.now += timedelta(days=3)
    led.cancel(ANN, visio)
    led.download(ANN, office, "2024", "en-US", 64)
    return digest, visited, office


def main() -> None:
    log = io.StringIO()
    logger = ledger.logging.json_logger(log, level=logging.INFO)
    clock = Clock()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        url = f"sqlite:///{folder / 'ledger.db'}"
        with Ledger.open(url, clock=clock, logger=logger) as led:
            digest, visited, office = the_month(led, clock)
            print(f"digest taken {visited:%Y-%m-%d}: {digest[:16]}...")

            # Month end, the operator's side: the live check, an export and the public key.
            print(f"verify(digest) on the live store: ok={led.audit.verify(digest).ok}")
            export = folder / "events-2026-11.jsonl"
            count = led.audit.export_events(export, actor=AUDITOR)
            public_key = led.audit.public_key()
            proof = led.audit.prove(office).to_json()
            print(f"exported {count} events; public key and a proof of one order handed over")

            # The state as of the visit, replayed from the history, against today's.
            with led.audit.as_of(visited, actor=AUDITOR) as then:
                before = {i.title: i.status for i in then.software(CONTOSO.tenant_id)}
            now = {i.title: i.status for i in led.software(AUDITOR, CONTOSO.tenant_id)}
            print(f"software list as of {visited:%Y-%m-%d}: {before}")
            print(f"software list today:          {now}")

        # Offline: no database, only the file, the digest and the public key.
        result = verify_export(export, digest, public_key=public_key)
        print(
            f"offline check: ok={result.ok}, {result.checked} events, tree of"
            f" {result.tree_size}, head {result.head.position}, nothing secret used:"
            f" {not result.macs_checked}"
        )
        proved = verify_proof(proof, public_key=public_key)
        print(f"proof of the Office order: ok={proved.ok}, {proved.events} events")
        lines = export.read_text().splitlines()
        row = json.loads(lines[2])
        edited = row["body"].replace('"quantity":2', '"quantity":20')
        assert edited != row["body"], "position 2 is the Office purchase"
        row["body"] = edited
        forged = folder / "forged.jsonl"
        forged.write_text("\n".join([*lines[:2], json.dumps(row), *lines[3:]]) + "\n")
        broken = verify_export(forged, digest, public_key=public_key)
        print(f"a copy with quantity 2 -> 20: ok={broken.ok} at position {broken.broken_at}:")
        print(f"  {broken.problem}")

    exported = [json.loads(text) for text in log.getvalue().splitlines()]
    (line,) = [entry for entry in exported if entry["event"] == "ledger.audit_export"]
    print(f"the log says who exported: {line['user']}, {line['rows']} events")


if __name__ == "__main__":
    main()

"""The ``ledger`` console script as a user runs it, in subprocesses, on SQLite and PostgreSQL:
the demo; customer → purchase → key → cancel → credits with JSON and CSV read back; and an
audit digest → export → verify-export."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

SECRET = "c2VjcmV0LWtleS1mb3ItZm9sbG93ZXItdGVzdHMtMzI="
ANN = ["--as", "ann", "--role", "ADMIN_AGENT", "--partner", "P1"]
GAIL = ["--as", "gail", "--role", "GLOBAL_ADMIN", "--partner", "P1"]
VERA = ["--as", "vera", "--role", "AUDITOR"]


def console_script() -> list[str]:
    """The installed ``ledger`` script beside this interpreter (what `pip install` made)."""
    script = Path(sys.executable).with_name("ledger")
    found = str(script) if script.exists() else shutil.which("ledger")
    assert found, "the ledger console script is not installed (pip install -e '.[cli]')"
    return [found]


def ledger(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEDGER_URL": url, "LEDGER_SECRET_KEY": SECRET}
    for name in ("LEDGER_USER", "LEDGER_ROLES", "LEDGER_PARTNER", "LEDGER_AUDIT_KEY"):
        env.pop(name, None)
    done = subprocess.run(
        [*console_script(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert done.returncode == 0, f"ledger {' '.join(args)}: {done.returncode} {done.stderr}"
    return done


def test_cli_process_demo(durable_url: str) -> None:
    done = ledger(durable_url, "demo")
    for text in ("Software lists", "Activity log, November 2026", "Credits 2026-11", "581.92 EUR"):
        assert text in done.stdout
    assert done.stderr == ""
    credits = ledger(
        durable_url,
        "--format",
        "json",
        "--as",
        "gail@fabrikam",
        "--role",
        "GLOBAL_ADMIN",
        "--partner",
        "fabrikam",
        "credits",
        "--month",
        "2026-11",
    )
    totals = json.loads(credits.stdout)["totals"]
    assert totals == {
        "EUR": {"amount": "581.92", "currency": "EUR"},
        "JPY": {"amount": "45000", "currency": "JPY"},
    }
    again = ledger(durable_url, "demo", check=False)
    assert again.returncode == 2
    assert again.stderr.startswith("InvalidInput: --url: ")


def test_cli_process_customer_purchase_key_cancel_credits(durable_url: str) -> None:
    tenant = str(uuid4())
    added = ledger(
        durable_url,
        *ANN,
        "customer",
        "add",
        "--tenant",
        tenant,
        "--domain",
        "contoso.example",
        "--name",
        "Contoso",
        "--market",
        "NL",
    )
    assert added.stdout.strip() == tenant
    bought = ledger(
        durable_url,
        "--format",
        "json",
        *ANN,
        "purchase",
        "--tenant",
        tenant,
        "--product-id",
        "CFQ7TTC0HDH0",
        "--sku",
        "0001",
        "--title",
        "Project Plan 3",
        "--kind",
        "SUBSCRIPTION",
        "--term-days",
        "365",
        "--quantity",
        "5",
        "--unit-price",
        "120.00 EUR",
    )
    order = json.loads(bought.stdout)
    assert UUID(order)
    key = ledger(durable_url, *ANN, "key", order).stdout.strip()
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){4}", key)
    cancelled = json.loads(ledger(durable_url, "--format", "json", *ANN, "cancel", order).stdout)
    assert cancelled["order_id"] == order
    # R8: the first day is a started day: 600.00 × (365 − 1) / 365.
    assert cancelled["credit"] == {"amount": "598.36", "currency": "EUR"}
    month = cancelled["invoice_month"]
    revoked = ledger(durable_url, *ANN, "key", order, check=False)
    assert revoked.returncode == 5
    assert revoked.stderr.startswith("KeyRevoked: ")
    assert key not in revoked.stderr
    statement = json.loads(
        ledger(durable_url, "--format", "json", *GAIL, "credits", "--month", month).stdout
    )
    assert [line["order_id"] for line in statement["lines"]] == [order]
    rows = list(
        csv.DictReader(
            io.StringIO(
                ledger(durable_url, "--format", "csv", *GAIL, "credits", "--month", month).stdout
            )
        )
    )
    assert [(r["order_id"], r["amount.amount"], r["amount.currency"]) for r in rows] == [
        (order, "598.36", "EUR")
    ]
    activity = ledger(
        durable_url,
        "--format",
        "csv",
        *GAIL,
        "activity",
        "--from",
        "2020-01-01",
        "--to",
        "2100-01-01",
    )
    (entry,) = csv.DictReader(io.StringIO(activity.stdout))
    assert (entry["action"], entry["user"], entry["order_id"]) == ("key_viewed", "ann", order)


def test_cli_process_audit_digest_export_verify(durable_url: str, tmp_path: Path) -> None:
    ledger(durable_url, "demo")
    digest = ledger(durable_url, "audit", "digest").stdout.strip()
    assert re.fullmatch(r"\d+:[0-9a-f]{64}:\d+:[0-9a-f]{64}:\d+:[0-9a-f]{128}", digest)
    head = ":".join(digest.split(":")[:2])
    export = tmp_path / "events.jsonl"
    done = ledger(durable_url, *VERA, "audit", "export", str(export))
    assert done.stderr.strip().endswith(f"events written to {export}")
    public_key = tmp_path / "public.pem"
    public_key.write_text(ledger(durable_url, "audit", "public-key").stdout)
    checked = ledger(
        durable_url,
        "--format",
        "json",
        "audit",
        "verify-export",
        str(export),
        "--digest",
        digest,
        "--public-key",
        str(public_key),
    )
    result = json.loads(checked.stdout)
    # Nothing secret was used: the signed digest and closing line prove the rows.
    assert (result["ok"], result["macs_checked"], result["head"]) == (True, False, head)
    proof = tmp_path / "proof.json"
    order = json.loads(export.read_text().splitlines()[1])["originator_id"]
    proof.write_text(ledger(durable_url, "audit", "prove", order).stdout)
    proved = ledger(
        durable_url,
        "--format",
        "json",
        "audit",
        "verify-proof",
        str(proof),
        "--public-key",
        str(public_key),
    )
    assert json.loads(proved.stdout)["ok"]
    listed = ledger(durable_url, "audit", "digests").stdout.split()
    assert listed
    assert all(line.count(":") == 5 for line in listed)
    assert json.loads(ledger(durable_url, "--format", "json", "audit", "rebuild-compare").stdout)[
        "matches"
    ]
    assert json.loads(
        ledger(durable_url, "--format", "json", "audit", "verify", "--digest", digest).stdout
    )["ok"]

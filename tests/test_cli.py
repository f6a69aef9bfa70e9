"""The ``ledger`` command line in-process (typer's CliRunner): every command, exit code and
error message; the main flows on SQLite and PostgreSQL. tests/test_cli_processes.py runs the
console script itself."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import typer
from typer.testing import CliRunner

from ledger import Ledger, Money
from ledger.cli import app
from tests.support import ManualClock, customer, partner, product

SECRET = "c2VjcmV0LWtleS1mb3ItZm9sbG93ZXItdGVzdHMtMzI="
ANN = ("--as", "ann", "--role", "ADMIN_AGENT", "--partner", "P1")
GAIL = ("--as", "gail", "--role", "GLOBAL_ADMIN", "--partner", "P1")
SAM = ("--as", "sam", "--role", "SUPPORT")
MAK = re.compile(r"^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$")
OFFICE = (
    "--product-id",
    "DG7GMGF0D7FV",
    "--sku",
    "0002",
    "--title",
    "Office LTSC 2024",
    "--kind",
    "perpetual",
    "--version",
    "2024",
    "--language",
    "en-US",
    "--language",
    "nl-NL",
    "--bitness",
    "64",
)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(durable_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*args)``: the exit code, stdout and stderr of ``ledger ARGS`` on the test's store."""
    monkeypatch.setenv("LEDGER_URL", durable_url)
    monkeypatch.setenv("LEDGER_SECRET_KEY", SECRET)
    for name in ("LEDGER_USER", "LEDGER_ROLES", "LEDGER_PARTNER", "LEDGER_TENANT_OF_ACTOR"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def sqlite_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The same on a SQLite file only: for the error paths, which do not depend on the store."""
    monkeypatch.setenv("LEDGER_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LEDGER_SECRET_KEY", SECRET)
    for name in ("LEDGER_USER", "LEDGER_ROLES", "LEDGER_PARTNER", "LEDGER_TENANT_OF_ACTOR"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


def ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, f"exit {code}: {err}"
    return out


def refused(result: tuple[int, str, str], code: int, start: str) -> str:
    """A refusal: its exit code, and one line on stderr that starts with the error's class."""
    got, out, err = result
    assert got == code, f"exit {got}, not {code}: {out} {err}"
    assert err.startswith(start), err
    assert err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err
    return err


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cli_customer_purchase_key_cancel_credits_on_every_durable_store(run: Run) -> None:
    tenant = str(uuid4())
    add = ("customer", "add", "--tenant", tenant, "--domain", "contoso.example")
    assert ok(run(*ANN, *add, "--name", "Contoso", "--market", "NL")).strip() == tenant
    listed = json.loads(ok(run("--format", "json", *GAIL, "customer", "list")))
    assert listed == [
        {"tenant_id": tenant, "domain": "contoso.example", "name": "Contoso", "market": "NL"}
    ]
    assert csv_rows(ok(run("--format", "csv", *ANN, "customer", "list")))[0]["market"] == "NL"

    buy = ("purchase", "--tenant", tenant, *OFFICE, "--quantity", "2")
    order = ok(run(*ANN, *buy, "--unit-price", "249.00 EUR", "--idempotency-key", "po-1")).strip()
    assert UUID(order)
    again = run(
        "--format", "json", *ANN, *buy, "--unit-price", "EUR 249", "--idempotency-key", "po-1"
    )
    assert json.loads(ok(again)) == order, "R12: the same key and details, the same order"

    key = ok(run(*ANN, "key", order)).strip()
    assert MAK.match(key)
    link = json.loads(
        ok(
            run(
                "--format",
                "json",
                *ANN,
                "download",
                order,
                "--version",
                "2024",
                "--language",
                "nl-NL",
                "--bitness",
                "64",
            )
        )
    )
    assert link["url"].startswith("https://")
    assert link["expires_at"].endswith("Z")
    copied = ok(
        run(*ANN, "copy-link", order, "--version", "2024", "--language", "en-US", "--bitness", "64")
    )
    assert "url: https://" in copied
    status = json.loads(ok(run("--format", "json", *GAIL, "status", order)))
    assert (status["cancellable"], status["days_left"]) == (True, 30)

    cancellation = json.loads(ok(run("--format", "json", *ANN, "cancel", order)))
    assert cancellation["credit"] == {"amount": "498.00", "currency": "EUR"}
    month = cancellation["invoice_month"]
    refused(run(*ANN, "key", order), 5, "KeyRevoked: ")

    statement = json.loads(ok(run("--format", "json", *GAIL, "credits", "--month", month)))
    assert statement["totals"] == {"EUR": {"amount": "498.00", "currency": "EUR"}}
    (line,) = csv_rows(ok(run("--format", "csv", *GAIL, "credits", "--month", month)))
    assert (line["order_id"], line["amount.amount"], line["reason"]) == (
        order,
        "498.00",
        "cancellation",
    )
    table = ok(run(*GAIL, "credits", "--month", month))
    assert "total EUR" in table
    assert "498.00 EUR" in table

    software = json.loads(ok(run("--format", "json", *ANN, "software", "--tenant", tenant)))
    assert [(s["order_id"], s["status"], s["key_available"]) for s in software] == [
        (order, "cancelled", False)
    ]
    (row,) = csv_rows(ok(run("--format", "csv", *ANN, "software", "--tenant", tenant)))
    assert (row["total.amount"], row["total.currency"], row["tax_inclusive"]) == (
        "498.00",
        "EUR",
        "false",
    )

    today = datetime.now(UTC).date().isoformat()
    window = ("activity", "--from", "2020-01-01", "--to", today)
    entries = json.loads(ok(run("--format", "json", *GAIL, *window)))
    assert [e["action"] for e in entries] == ["key_viewed", "downloaded", "link_copied"]
    code, out, err = run("--format", "json", *GAIL, *window, "--limit", "2")
    assert code == 0
    assert len(json.loads(out)) == 2
    assert err.strip() == f"more may follow: --after {entries[1]['position']}"
    rest = json.loads(ok(run("--format", "json", *GAIL, *window, "--after", err.split()[-1])))
    assert [e["action"] for e in rest] == ["link_copied"]
    only = csv_rows(ok(run("--format", "csv", *GAIL, *window, "--user", "ann", "--order", order)))
    assert len(only) == 3
    assert ok(run("--format", "json", *GAIL, *window, "--tenant", str(uuid4()))).strip() == "[]"


def _old_order(url: str) -> tuple[str, str]:
    """An order bought 40 days ago (its window closed), written through the library."""
    clock = ManualClock(datetime.now(UTC) - timedelta(days=40))
    with Ledger.open(url, secret_key=SECRET, clock=clock) as led:
        new = customer()
        led.add_customer(partner(), new)
        order = led.purchase(partner(), new.tenant_id, product(), 1, Money("100.00", "EUR"))
    return str(new.tenant_id), str(order)


def test_cli_refund_request_resolve_list_on_every_durable_store(run: Run, durable_url: str) -> None:
    tenant, order = _old_order(durable_url)
    status = json.loads(ok(run("--format", "json", *ANN, "status", order)))
    assert (status["reason"], status["refund_request_possible"]) == ("window_closed", True)
    refused(run(*ANN, "cancel", order), 5, "CancellationWindowClosed: ")
    contact = (
        "--contact-name",
        "Pat",
        "--contact-email",
        "pat@contoso.example",
        "--contact-phone",
        "+31 20 555 0100",
    )
    request = ("refund", "request", order, "--reason", "never installed", *contact)
    refund_id = ok(
        run(*ANN, *request, "--amount", "60.00 EUR", "--tenant", tenant, "--attachment", "a.pdf")
    ).strip()
    assert UUID(refund_id)
    refused(run(*ANN, *request, "--amount", "60.00 USD"), 2, "InvalidInput: amount")
    listed = json.loads(ok(run("--format", "json", *GAIL, "refund", "list")))
    assert [(r["refund_id"], r["status"], r["attachments"]) for r in listed] == [
        (refund_id, "pending", ["a.pdf"])
    ]
    refused(run(*ANN, "refund", "resolve", refund_id, "--approve"), 4, "AccessDenied: ")
    resolved = json.loads(
        ok(
            run(
                "--format",
                "json",
                *SAM,
                "refund",
                "resolve",
                refund_id,
                "--approve",
                "--amount",
                "50.00 EUR",
            )
        )
    )
    assert (resolved["status"], resolved["approved_amount"]["amount"]) == ("approved", "50.00")
    refused(run(*SAM, "refund", "resolve", refund_id, "--decline"), 5, "RefundAlreadyResolved: ")
    rows = csv_rows(ok(run("--format", "csv", *SAM, "refund", "list")))
    assert (rows[0]["approved_amount.amount"], rows[0]["resolved_by"]) == ("50.00", "sam")


def test_cli_customer_users_and_the_actor_from_the_environment(
    sqlite_run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = sqlite_run
    tenant = str(uuid4())
    monkeypatch.setenv("LEDGER_USER", "ann")
    monkeypatch.setenv("LEDGER_ROLES", "admin_agent, GLOBAL_ADMIN")
    monkeypatch.setenv("LEDGER_PARTNER", "P1")
    add = ("customer", "add", "--tenant", tenant, "--domain", "c.example", "--name", "C")
    ok(run(*add, "--market", "AU"))
    order = ok(
        run("purchase", "--tenant", tenant, *OFFICE, "--quantity", "1", "--unit-price", "10 AUD")
    ).strip()
    item = json.loads(ok(run("--format", "json", "software", "--tenant", tenant)))[0]
    assert item["tax_inclusive"] is True, "R2: AU prices include tax"
    # A customer user: the tenant's own GLOBAL_ADMIN sees the key and downloads.
    carol = ("--as", "carol", "--role", "GLOBAL_ADMIN", "--tenant-of-actor", tenant)
    monkeypatch.delenv("LEDGER_PARTNER")
    assert MAK.match(ok(run(*carol, "key", order)).strip())
    assert len(json.loads(ok(run("--format", "json", *carol, "software", "--tenant", tenant)))) == 1
    refused(run(*carol, "status", order), 4, "AccessDenied: carol may not ask whether")
    refused(run(*carol, "--partner", "P1", "key", order), 2, "InvalidInput: tenant_id")
    monkeypatch.delenv("LEDGER_USER")
    refused(run("key", order), 2, "InvalidInput: --as: who acts?")
    refused(run("--as", "x", "--role", "KING", "key", order), 2, "InvalidInput: --role: 'KING'")


def test_cli_exit_codes_and_one_line_errors(sqlite_run: Run, tmp_path: Path) -> None:
    run = sqlite_run
    tenant = str(uuid4())
    add = ("customer", "add", "--tenant", tenant, "--domain", "c.example", "--name", "C")
    # 2: bad input (the library's InvalidInput names the field) and usage mistakes.
    refused(run(*ANN, *add, "--market", "ZZ"), 2, "InvalidInput: market")
    ok(run(*ANN, *add, "--market", "NL"))
    buy = ("purchase", "--tenant", tenant, *OFFICE, "--unit-price", "10.00 EUR")
    refused(run(*ANN, *buy, "--quantity", "0"), 2, "InvalidInput: quantity")
    refused(run(*ANN, *buy[:-1], "10.005 EUR", "--quantity", "1"), 2, "InvalidInput: --unit-price")
    refused(run(*ANN, *buy, "--quantity", "1", "--bitness", "16"), 2, "InvalidInput: bitness")
    refused(run(*ANN, *buy, "--quantity", "x"), 2, "UsageError: Invalid value for '--quantity'")
    refused(run(*ANN, "purchase", "--tenant", tenant), 2, "UsageError: Missing option")
    refused(run(*ANN, "status", "not-a-uuid"), 2, "UsageError: Invalid value for 'ORDER'")
    refused(run(*ANN, "frobnicate"), 2, "UsageError: No such command 'frobnicate'.")
    refused(run("--format", "xml", *ANN, "customer", "list"), 2, "UsageError: Invalid value")
    refused(run(*GAIL, "activity", "--from", "2026-11-30", "--to", "2026-11-01"), 2, "InvalidInput")
    refused(
        run(*GAIL, "activity", "--from", "11/30", "--to", "2026-11-01"), 2, "InvalidInput: --from"
    )
    refused(run(*GAIL, "credits", "--month", "2026-13"), 2, "InvalidInput: month")
    refused(run("kms-deadline", "2026-11-02T09:00"), 2, "InvalidInput: activated")
    # 3: not found, or not visible (R11) — the same answer.
    refused(run(*ANN, "status", str(uuid4())), 3, "OrderNotFound: order")
    refused(run(*ANN, "software", "--tenant", str(uuid4())), 3, "CustomerNotFound: customer")
    other = ("--as", "olga", "--role", "ADMIN_AGENT", "--partner", "P2")
    order = ok(run(*ANN, *buy, "--quantity", "1")).strip()
    refused(run(*other, "key", order), 3, "OrderNotFound: ")
    refused(run(*ANN, "refund", "resolve", str(uuid4()), "--approve"), 3, "RefundNotFound: ")
    # 4: visible, but not this actor's to do; the message names who may.
    sid = ("--as", "sid", "--role", "SALES_AGENT", "--partner", "P1")
    err = refused(run(*sid, "cancel", order), 4, "AccessDenied: sid may not cancel orders")
    assert "allowed are partner users with ADMIN_AGENT" in err
    refused(run(*ANN, "activity", "--from", "2026-11-01", "--to", "2026-11-30"), 4, "AccessDenied")
    refused(run(*sid, "refund", "list"), 4, "AccessDenied: ")
    # 5: any other rule.
    refused(run(*ANN, *buy, "--quantity", "1", "--activation", "KMS"), 5, "KmsNotAllowed: ")
    refused(run(*ANN, *add, "--market", "BE"), 5, "CustomerConflict: ")
    cn = str(uuid4())
    ok(
        run(
            *ANN,
            "customer",
            "add",
            "--tenant",
            cn,
            "--domain",
            "cn.example",
            "--name",
            "W",
            "--market",
            "CN",
        )
    )
    reservation = (
        "--product-id",
        "R",
        "--sku",
        "1",
        "--title",
        "VM",
        "--kind",
        "AZURE_RESERVATION",
    )
    refused(
        run(
            *ANN,
            "purchase",
            "--tenant",
            cn,
            *reservation,
            "--quantity",
            "1",
            "--unit-price",
            "9 USD",
        ),
        5,
        "MarketUnavailable: ",
    )
    ok(run(*ANN, "cancel", order))
    refused(run(*ANN, "cancel", order), 5, "AlreadyCancelled: ")
    again = (*buy, "--quantity", "1", "--idempotency-key", "k")
    ok(run(*ANN, *again))
    refused(run(*ANN, *again[:-3], "2", "--idempotency-key", "k"), 5, "IdempotencyConflict: ")
    # 6: the store or its key cannot be used.
    wrong_key = CliRunner().invoke(
        app, [*ANN, "customer", "list"], env={"LEDGER_SECRET_KEY": "A" * 43 + "="}
    )
    assert wrong_key.exit_code == 6, wrong_key.stderr
    assert wrong_key.stderr.startswith("ConfigurationError: the store is sealed under another")
    unreachable = ("--url", "postgresql://nobody@127.0.0.1:1/none")
    refused(run(*unreachable, *ANN, "customer", "list"), 6, "StoreUnavailable: cannot reach")


def test_cli_kms_deadline_needs_no_store(sqlite_run: Run, tmp_path: Path) -> None:
    assert ok(sqlite_run("kms-deadline", "2026-11-02T09:00:00+01:00")).strip() == (
        "2027-05-01T08:00:00Z"
    )
    assert json.loads(ok(sqlite_run("--format", "json", "kms-deadline", "2026-11-02"))) == (
        "2027-05-01T00:00:00Z"
    )
    assert csv_rows(ok(sqlite_run("--format", "csv", "kms-deadline", "2026-11-02"))) == [
        {"deadline": "2027-05-01T00:00:00Z"}
    ]
    assert not (tmp_path / "cli.db").exists()


def test_cli_demo_fills_a_fresh_store_and_refuses_a_used_one(sqlite_run: Run) -> None:
    out = ok(sqlite_run("demo"))
    for title in ("Software lists", "Activity log, November 2026", "Credits 2026-11"):
        assert title in out
    for text in ("581.92 EUR", "45000 JPY", "KmsNotAllowed", "MarketUnavailable", "KeyRevoked"):
        assert text in out
    assert "CancellationWindowClosed" in out
    key_line = next(line for line in out.splitlines() if "views the Office key" in line)
    assert re.search(r"[0-9A-Z]{5}-\*{5}-\*{5}-\*{5}-\*{5}", key_line)
    refused(sqlite_run("demo"), 2, "InvalidInput: --url: ")


def test_cli_audit_export_logs_who_ran_it(sqlite_run: Run, tmp_path: Path) -> None:
    ok(sqlite_run(*ANN, "customer", "list"))
    target = tmp_path / "events.jsonl"
    code, _, err = sqlite_run(
        "--log-json", "--as", "ida@audit-firm", "--role", "AUDITOR", "audit", "export", str(target)
    )
    assert code == 0
    (line,) = [json.loads(text) for text in err.splitlines() if text.startswith("{")]
    assert (line["event"], line["user"], line["roles"], line["export"]) == (
        "ledger.audit_export",
        "ida@audit-firm",
        ["AUDITOR"],
        "events",
    )
    # A partner's GLOBAL_ADMIN may not export every partner's history; the refusal is logged.
    code, _, err = sqlite_run("--log-json", *GAIL, "audit", "export", str(target))
    assert code == 4
    (line,) = [json.loads(text) for text in err.splitlines() if text.startswith("{")]
    assert (line["user"], line["roles"], line["partner_id"]) == ("gail", ["GLOBAL_ADMIN"], "P1")
    assert line["outcome"] == "AccessDenied"


def test_cli_log_json_writes_the_library_lines_to_stderr(sqlite_run: Run) -> None:
    tenant = str(uuid4())
    add = ("customer", "add", "--tenant", tenant, "--domain", "c.example", "--name", "C")
    code, out, err = sqlite_run("--log-json", *ANN, *add, "--market", "NL")
    assert (code, out.strip()) == (0, tenant)
    (line,) = [json.loads(text) for text in err.splitlines()]
    assert (line["event"], line["command"], line["user"], line["outcome"]) == (
        "ledger.command",
        "add_customer",
        "ann",
        "ok",
    )
    code, _, err = sqlite_run(*ANN, *add, "--market", "NL")
    assert (code, err) == (0, ""), "without --log-json stderr stays quiet"


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    children = getattr(command, "commands", None)
    if children is None:
        yield path
        return
    for name, child in children.items():
        yield from _commands(child, (*path, name))


def test_cli_every_command_has_help_with_an_example(sqlite_run: Run) -> None:
    root = typer.main.get_command(app)
    commands = list(_commands(root))
    assert len(commands) >= 26
    for path in commands:
        arguments = list(path)
        if path[:2] == ("audit", "as-of"):
            arguments = ["audit", "as-of", "2026-11-30", *path[2:]]
        help_text = ok(sqlite_run(*arguments, "--help"))
        assert "Example" in help_text, f"ledger {' '.join(path)} --help shows no example"
    assert "Exit codes" in ok(sqlite_run("--help"))
    code, out, _ = sqlite_run()
    assert code == 2
    assert "Usage" in out

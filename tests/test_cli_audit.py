"""The ``ledger`` console script's views and audit commands: in-process for every command and
exit code, and as subprocesses for the main path (digest → export → verify-export)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli import app
from ledger.cli.errors import exit_code
from ledger.errors import (
    AccessDenied,
    ConfigurationError,
    CustomerNotFound,
    InvalidInput,
    KeyRevoked,
    ProjectionError,
)
from tests.support import AGENT, PARTNER_GLOBAL_ADMIN, VERA, ManualClock, tenant_with_order

SECRET = "c2VjcmV0LWtleS1mb3ItZm9sbG93ZXItdGVzdHMtMzI="
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("LEDGER_SECRET_KEY", SECRET)
    monkeypatch.setenv("LEDGER_URL", url)
    monkeypatch.delenv("LEDGER_AUDIT_KEY", raising=False)
    clock = ManualClock()
    with Ledger.open(url, clock=clock) as led:
        tid, order = tenant_with_order(led)
        led.view_key(AGENT, order)
        (tmp_path / "tenant").write_text(str(tid))
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_audit_digest_verify_and_a_digest_from_elsewhere(store: str) -> None:
    code, out, _ = run("audit", "digest")
    assert code == 0
    digest = out.strip()
    assert digest.startswith("4:")
    code, out, _ = run("--format", "json", "audit", "verify", "--digest", digest)
    assert code == 0
    assert json.loads(out)["ok"] is True
    code, _, err = run("audit", "verify", "--digest", "nonsense")
    assert code == 2
    assert err.startswith("InvalidInput: digest")


def test_cli_audit_verify_exits_7_on_tampering(store: str, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "ledger.db") as conn:
        conn.execute("UPDATE stored_events SET topic = topic WHERE rowid = 2")
        conn.execute(
            "INSERT INTO stored_events SELECT originator_id, originator_version + 9, topic, state"
            " FROM stored_events WHERE rowid = 4"
        )
    code, out, _ = run("--format", "json", "audit", "verify")
    assert code == 7
    assert json.loads(out)["broken_at"] == 5


def test_cli_export_and_verify_export(store: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    code, _, err = run("audit", "export", str(path))
    assert code == 2, "the history is the vendor auditor's only"
    assert "who acts?" in err
    code, _, err = run(*PARTNER_GLOBAL_ADMIN, "audit", "export", str(path))
    assert code == 4
    assert "vendor's AUDITOR" in err
    assert not path.exists()
    code, _, err = run(*VERA, "audit", "export", str(path))
    assert code == 0
    assert "4 events" in err
    digest = run("audit", "digest")[1].strip()
    code, out, _ = run("--format", "json", "audit", "verify-export", str(path), "--digest", digest)
    assert code == 0
    assert json.loads(out)["macs_checked"] is False, "without the audit key only the chain"
    assert run("audit", "key")[0] == 2, "no command prints a key that can forge"
    code, pem, _ = run("audit", "public-key")
    assert code == 0
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "public.pem").write_text(pem)
    with_key = ("--public-key", str(tmp_path / "public.pem"))
    code, out, _ = run("--format", "json", "audit", "verify-export", str(path), *with_key)
    assert code == 0
    assert json.loads(out)["ok"] is True
    csv_path = tmp_path / "events.csv"
    assert run(*VERA, "audit", "export", str(csv_path), "--csv")[0] == 0
    assert run("audit", "verify-export", str(csv_path), "--digest", digest, *with_key)[0] == 0
    code, out, _ = run("audit", "verify-export", str(csv_path), "--digest", digest[:-1] + "x")
    assert code == 2, out  # a malformed digest is bad input
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    code, out, _ = run("audit", "verify-export", str(path))
    assert code == 7
    assert "truncated" in out
    assert run("audit", "verify-export", str(tmp_path / "missing.jsonl"))[0] == 2
    assert run(*VERA, "audit", "export", str(tmp_path / "no" / "dir.jsonl"))[0] == 2


def test_cli_as_of(store: str, tmp_path: Path) -> None:
    tenant = (tmp_path / "tenant").read_text()
    code, out, _ = run(
        *VERA, "--format", "json", "audit", "as-of", "2030-01-01", "software", "--tenant", tenant
    )
    assert code == 0
    assert [item["status"] for item in json.loads(out)] == ["active"]
    code, out, _ = run(
        *VERA, "--format", "json", "audit", "as-of", "2000-01-01T00:00:00Z", "software",
        "--tenant", tenant,
    )  # fmt: skip
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(
        *VERA,
        "--format",
        "csv",
        "audit",
        "as-of",
        "2030-01-01T00:00+01:00",
        "activity",
        "--partner",
        "P1",
        "--from",
        "2026-01-01",
        "--to",
        "2027-01-01",
    )
    assert code == 0
    assert out.splitlines()[0].startswith("at,user,action")
    assert len(out.splitlines()) == 2
    code, out, _ = run(
        *VERA,
        "--format",
        "json",
        "audit",
        "as-of",
        "2030-01-01",
        "credits",
        "--partner",
        "P1",
        "--month",
        "2026-11",
    )
    assert (code, json.loads(out)["lines"]) == (0, [])
    assert (
        run(
            *VERA,
            "audit",
            "as-of",
            "2030-01-01T00:00",
            "credits",
            "--partner",
            "P1",
            "--month",
            "2026-11",
        )[0]
        == 2
    )
    assert (
        run(
            *VERA, "audit", "as-of", "yesterday", "credits", "--partner", "P1", "--month", "2026-11"
        )[0]
        == 2
    )
    assert (
        run(
            *VERA,
            "audit",
            "as-of",
            "2030-01-01",
            "credits",
            "--partner",
            "P1",
            "--month",
            "2026-13",
        )[0]
        == 2
    )


def test_cli_views_status_and_rebuild(store: str) -> None:
    # The fixture's ledger never queried after writing, so nothing applied its events yet.
    code, out, _ = run("--format", "json", "views", "status")
    assert code == 0
    assert json.loads(out) | {"lag_seconds": 0} == {
        "mode": "follower",
        "position": 0,
        "head": 4,
        "lag_events": 4,
        "lag_seconds": 0,
        "stopped_at": None,
        "problem": None,
    }
    code, out, _ = run("views", "rebuild")
    assert code == 0
    assert "position: 4" in out
    assert "lag_events: 0" in out


def test_cli_bad_usage_and_unavailable_stores(store: str, tmp_path: Path) -> None:
    assert run("--format", "xml", "views", "status")[0] == 2
    assert run("views", "frobnicate")[0] == 2
    code, _, err = run("--url", "mysql://x", "views", "status")
    assert code == 2
    assert err.startswith("InvalidInput: url")
    code, _, err = run("--url", "postgresql://nobody@127.0.0.1:1/none", "views", "status")
    assert code == 6
    assert err.startswith("StoreUnavailable: cannot reach PostgreSQL")
    assert "\n" not in err.strip()


def test_cli_exit_codes_by_error_class() -> None:
    assert exit_code(InvalidInput("x", "y")) == 2
    assert exit_code(CustomerNotFound("x")) == 3
    assert exit_code(AccessDenied("x")) == 4
    assert exit_code(KeyRevoked("x")) == 5
    assert exit_code(ProjectionError(3, "x")) == 5
    assert exit_code(ConfigurationError("x")) == 6


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEDGER_URL": url, "LEDGER_SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_main_path_in_subprocesses(durable_url: str, tmp_path: Path) -> None:
    with Ledger.open(durable_url, secret_key=SECRET, clock=ManualClock()) as led:
        _, order = tenant_with_order(led)
        led.view_key(AGENT, order)
    digest = _cli(durable_url, "audit", "digest")
    assert digest.returncode == 0, digest.stderr
    path = tmp_path / "events.jsonl"
    exported = _cli(durable_url, *VERA, "audit", "export", str(path))
    assert exported.returncode == 0, exported.stderr
    checked = _cli(
        durable_url,
        "--format",
        "json",
        "audit",
        "verify-export",
        str(path),
        "--digest",
        digest.stdout.strip(),
    )
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    verified = _cli(durable_url, "audit", "verify", "--digest", digest.stdout.strip())
    assert verified.returncode == 0
    status = _cli(durable_url, "--format", "json", "views", "status")
    assert json.loads(status.stdout)["position"] == 4


def test_cli_audit_what_if_replays_under_a_policy_from_a_module(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT / "examples")
    who = ("--as", "acc", "--role", "ACCOUNT_ADMIN", "--partner", "P1")
    policy = ("audit", "what-if", "--policy", "product_line_policy:SEVENTY_TWO_HOURS")
    code, out, _ = run("--format", "json", *who, *policy)
    assert code == 0
    report = json.loads(out)
    assert report["policy_id"] == "trials-72h/2026-12"
    assert [row["change"] for row in report["rows"]] == ["same"]
    code, out, _ = run("--format", "csv", *who, *policy, "--from", "2026-11-03")
    assert code == 0
    assert out.splitlines() == [  # the header only: the order was bought on 2026-11-02
        "order_id,tenant_id,product_id,purchased_at,deadline,candidate_deadline,cancelled_at,"
        "credit.amount,credit.currency,candidate_credit.amount,candidate_credit.currency,change"
    ]
    code, out, _ = run("--format", "csv", *who, *policy)
    assert code == 0
    header, row = out.splitlines()
    assert header.count("credit") == 4  # a None Money is its two columns, empty
    assert row.endswith(",,,,,same")
    code, out, _ = run(*who, *policy)
    assert code == 0
    assert "1 orders: same 1, credit_changed 0, deadline_changed 0, would_be_refused 0" in out
    code, _, err = run(*who, "audit", "what-if", "--policy", "no_such_module:X")
    assert code == 2
    assert "--policy" in err
    code, _, err = run(
        "--as", "mia", "--role", "MARKETING_CONTENT_ADMIN", "--partner", "P1", *policy
    )
    assert code == exit_code(AccessDenied("x"))


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "verify"),
        ("audit", "export"),
        ("audit", "rebuild-compare"),
        ("audit", "verify-export"),
        ("audit", "what-if"),
        ("audit", "as-of", "2026-12-01", "software"),
        ("audit", "as-of", "2026-12-01", "activity"),
        ("audit", "as-of", "2026-12-01", "credits"),
        ("views", "rebuild"),
    ],
)
def test_cli_long_commands_say_they_show_progress(command: tuple[str, ...]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "A progress bar is drawn on stderr when it is a terminal." in " ".join(out.split())

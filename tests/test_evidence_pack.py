"""R18 v2: the evidence pack (``ledger audit report``): signed manifest, exports, and a
printable HTML report that a real headless Chromium renders (screenshot in artefacts/)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.audit import verify_export
from ledger.audit.evidence import verify_evidence
from ledger.cli.app import app
from ledger.errors import InvalidInput
from tests.conftest import IN_CI
from tests.support import AGENT, ManualClock, tenant_with_order

ARTEFACTS = Path(__file__).resolve().parent.parent / "artefacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _history(led: Ledger, clock: ManualClock) -> None:
    _, order = tenant_with_order(led)
    led.view_key(AGENT, order)
    clock.advance(timedelta(days=1))
    led.cancel(AGENT, order)


def test_the_pack_is_complete_signed_and_checkable(
    store_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    with Ledger.open(store_url, clock=clock) as led:
        _history(led, clock)
        public_key = led.audit.public_key()
        pack = led.audit.report(tmp_path / "pack", date(2000, 1, 1), date(2100, 1, 1), actor="gail")
    assert pack.ok
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    assert manifest["generated_by"] == "gail"
    assert manifest["parameters"] == {"from": "2000-01-01", "to": "2100-01-01"}
    assert manifest["verification"]["ok"] is True
    assert manifest["event_counts"]["ledger:Order.Cancelled.v1"] == 1
    assert {f["name"] for f in manifest["files"]} == {
        "events.jsonl",
        "activity.csv",
        "trail.csv",
        "report.html",
    }
    assert manifest["public_key"] == public_key
    trail = (tmp_path / "pack" / "trail.csv").read_text().splitlines()
    assert trail[0].startswith("kind,first_at,last_at,count,user,roles")
    assert [line.split(",")[8] for line in trail[1:]] == [
        "audit.report",
        "audit.export_events",
        "audit.export_activity",
        "audit.trail",
    ], "R21: the pack carries the trail, its own reads included"
    assert verify_evidence(tmp_path / "pack", public_key=public_key) == []
    events = tmp_path / "pack" / "events.jsonl"
    assert verify_export(events, manifest["digest"], public_key=public_key).ok
    html = (tmp_path / "pack" / "report.html").read_text()
    assert "history intact" in html
    assert "<script" not in html
    assert "http" not in html.lower().replace("http-equiv", "")
    # A changed file or manifest is named.
    with (tmp_path / "pack" / "activity.csv").open("a") as handle:
        handle.write("forged\n")
    assert verify_evidence(tmp_path / "pack", public_key=public_key) == [
        "activity.csv differs from the manifest"
    ]
    manifest["generated_by"] = "mallory"
    (tmp_path / "pack" / "manifest.json").write_text(json.dumps(manifest))
    assert "the manifest is not signed by this key, or was edited" in verify_evidence(
        tmp_path / "pack", public_key=public_key
    )


def test_bad_input_writes_nothing(led: Ledger, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("earlier")
    with pytest.raises(InvalidInput, match="out"):
        led.audit.report(tmp_path / "full", date(2026, 1, 1), date(2026, 2, 1))
    with pytest.raises(InvalidInput, match="end"):
        led.audit.report(tmp_path / "new", date(2026, 2, 1), date(2026, 1, 1))
    assert not (tmp_path / "new").exists()


def test_the_cli_writes_the_pack(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/l.db"
    with Ledger.open(url) as led:
        tenant_with_order(led)
    result = CliRunner().invoke(
        app,
        [
            "--url",
            url,
            "--as",
            "gail",
            "--role",
            "AUDITOR",
            "audit",
            "report",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--out",
            str(tmp_path / "pack"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pack" / "report.html").is_file()
    key = CliRunner().invoke(app, ["--url", url, "audit", "public-key"])
    assert key.exit_code == 0
    assert key.output.startswith("-----BEGIN PUBLIC KEY-----")
    assert verify_evidence(tmp_path / "pack", public_key=key.output) == []


def test_chromium_renders_the_report(led: Ledger, clock: ManualClock, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("CI needs Debian's chromium (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    _history(led, clock)
    led.audit.report(tmp_path / "pack", date(2000, 1, 1), date(2100, 1, 1), actor="gail")
    report = (tmp_path / "pack" / "report.html").resolve()
    ARTEFACTS.mkdir(exist_ok=True)
    shot = ARTEFACTS / "evidence-report.png"
    shot.unlink(missing_ok=True)
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", report.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "history intact" in dom.stdout
    assert "Events per type" in dom.stdout
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1100,1500", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [*flags, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert pdf.read_bytes().startswith(b"%PDF")  # printable

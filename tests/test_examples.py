"""End to end: the examples run as a user would run them (the demo: tests/test_cli*.py)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from ledger import errors

ROOT = Path(__file__).resolve().parent.parent


def test_property_testing_example_runs_the_seven_day_machine(tmp_path: Path) -> None:
    script = ROOT / "examples" / "property_testing.py"
    assert len(script.read_text().splitlines()) < 20
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert "SevenDaySubscriptions on memory:" in result.stdout
    assert "the ledger agreed with the model" in result.stdout
    steps = int(result.stdout.split(": ", 1)[1].split(" steps")[0])
    assert steps >= 1_000


def _run(script: str, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stderr == ""
    return result.stdout


def test_billing_example_handles_every_error_class_and_invoices_the_credits(
    tmp_path: Path,
) -> None:
    out = _run("embed_in_billing.py", cwd=tmp_path)
    assert "PO-1001 sent twice is one order: True" in out
    assert "Contoso: credit for PO-1002 (cancellation) -207.70 EUR" in out
    assert "Contoso: credit for PO-1001 (refund) -249.00 EUR" in out
    met = set(re.findall(r"\((\w+): ", out))
    raised_by_a_sound_store = {
        name
        for name, kind in vars(errors).items()
        if isinstance(kind, type) and issubclass(kind, errors.LedgerError)
    } - {"LedgerError", "StoreUnavailable", "EventDecodingError", "ProjectionError"}
    assert met >= raised_by_a_sound_store, raised_by_a_sound_store - met
    on_a_file = _run("embed_in_billing.py", f"sqlite:///{tmp_path / 'billing.db'}", cwd=tmp_path)
    assert "Contoso: credit for PO-1001 (refund) -249.00 EUR" in on_a_file


def test_billing_example_knows_what_to_do_about_every_error_class() -> None:
    spec = importlib.util.spec_from_file_location(
        "billing", ROOT / "examples" / "embed_in_billing.py"
    )
    assert spec is not None
    assert spec.loader is not None
    billing = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = billing  # dataclasses look their module up while being made
    try:
        spec.loader.exec_module(billing)
    finally:
        del sys.modules[spec.name]
    every = [
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, errors.LedgerError)
    ]
    assert set(billing.HANDLING) == set(every)
    # Most specific first: no class is shadowed by a base listed before it.
    order = list(billing.HANDLING)
    for index, kind in enumerate(order):
        assert not any(issubclass(kind, base) for base in order[:index]), kind


def test_compliance_example_verifies_offline_and_replays_a_past_date(tmp_path: Path) -> None:
    out = _run("compliance_replay.py", cwd=tmp_path)
    assert "verify(digest) on the live store: ok=True" in out
    assert (
        "offline check: ok=True, 10 events, tree of 10, head 10, nothing secret used: True" in out
    )
    assert "proof of the Office order: ok=True, 2 events" in out
    assert "a copy with quantity 2 -> 20: ok=False at position 2:" in out
    assert (
        "software list as of 2026-11-09: {'Office LTSC 2024': 'active', 'Visio Plan 2': 'active'}"
        in out
    )
    assert "'Visio Plan 2': 'cancelled'" in out
    assert "the log says who exported: ida@audit-firm, 10 events" in out


def test_feed_to_invoicing_example_invoices_each_item_once_across_a_restart(
    tmp_path: Path,
) -> None:
    output = _run("feed_to_invoicing.py", str(tmp_path), cwd=tmp_path)
    assert "first sync: 2 invoice lines" in output
    assert "after a restart and a cancellation: 1 new invoice line" in output
    assert "nothing new: 0 invoice lines" in output
    assert re.search(r"credit\.issued\s+-498\.00 EUR", output)


def test_webhooks_example_verifies_retries_and_invoices_each_item_once(tmp_path: Path) -> None:
    output = _run("webhooks_to_invoicing.py", cwd=tmp_path)
    assert "requests received: 4 (the first answered 503, then retried)" in output
    assert re.search(r"order\.purchased\s+498\.00 EUR", output)
    assert re.search(r"credit\.issued\s+498\.00 EUR", output)
    assert "0 items waiting" in output


def test_product_line_example_runs_a_what_if_and_switches_policy(tmp_path: Path) -> None:
    out = _run("product_line_policy.py", cwd=tmp_path)
    assert "TRIAL-365     credit 24.00 EUR, would be -: would_be_refused" in out
    assert "EUR: credited 24.00 EUR, would be 0.00 EUR (-24.00 EUR)" in out
    assert "the Office order bought before keeps 2026-12-02 09:00" in out
    assert "a trial bought now may be cancelled until 2026-11-10 09:00" in out
    assert out in (ROOT / "docs" / "testing.md").read_text()


def test_policy_author_example_compares_switches_and_pins_a_slip(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "policy_author.py"), str(tmp_path)],
        cwd=ROOT / "examples",
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "standard-30d/2026-11 and subscriptions-14d/2027-01 differ on 1 × SUBSCRIPTION" in out
    assert "SwitchToTwoWeeks on memory:" in out
    assert "the ledger agreed with the model" in out
    assert "is deployed: orders bought from now on get it (R20)" in out
    assert "SwitchWithASlip on memory: caught a disagreement" in out
    pinned = tmp_path / "test_pinned_slip.py"
    replayed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pinned)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "examples")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert replayed.returncode == 1  # the slip stands, so the pinned story fails as it did
    assert "cancellable_until: expected" in replayed.stdout

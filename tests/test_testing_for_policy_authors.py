"""ledger.testing for policy authors (issue 22): their calendar, a policy switch part-way,
one readable story per failure, stories pinned as tests, `compare`, given events, the plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unittest
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from hypothesis.stateful import rule

from ledger import (
    Actor,
    CancellationPolicy,
    Customer,
    Ledger,
    Money,
    Product,
    ProductKind,
    Role,
)
from ledger.errors import ConfigurationError, InvalidInput
from ledger.testing import (
    CALENDAR_STARTS,
    START,
    AddCustomer,
    Cancel,
    LedgerStateMachine,
    ManualClock,
    ModelMismatch,
    Purchase,
    RecordedEvent,
    ReferenceRules,
    Scenario,
    SwitchPolicy,
    calendar_instants,
    compare,
    event,
    open_test_ledger,
    read_export,
    run,
)
from ledger.testing.commands import Wait
from ledger.testing.draws import NAMES
from tests.conftest import IN_CI, require_postgres
from tests.test_policy_mutants import MUTANTS, RoundsHalfUp, YearOfPurchaseDenominator

DAY = timedelta(days=1)
ROOT = Path(__file__).resolve().parents[1]
SPEC_WINDOWS = {ProductKind.PERPETUAL: 30 * DAY, ProductKind.SUBSCRIPTION: 30 * DAY}
SEVEN_DAYS = CancellationPolicy.seven_day_subscriptions()
AGENT = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")
CONTOSO = Customer(tenant_id=uuid4(), domain="contoso.example", name="Contoso", market="NL")
OFFICE = Product(
    product_id="CFQ7TTC0LH18",
    sku_id="0001",
    title="Microsoft 365 Business Basic",
    kind=ProductKind.SUBSCRIPTION,
    term_days=365,
    versions=("2024",),
    languages=("en-US",),
    bitness=(64,),
)


def _mutant(name: str) -> type[LedgerStateMachine]:
    return next(m for m in MUTANTS if m.name == name).machine()


# -- the user's calendar ---------------------------------------------------------------------


def test_calendar_instants_are_the_month_starts_and_leap_days_inside_the_range() -> None:
    found = calendar_instants(datetime(2028, 2, 10, tzinfo=UTC), datetime(2028, 4, 1, tzinfo=UTC))
    assert found == (
        datetime(2028, 2, 29, tzinfo=UTC),
        datetime(2028, 3, 1, tzinfo=UTC),
        datetime(2028, 4, 1, tzinfo=UTC),
    )
    no_leap = calendar_instants(datetime(2027, 2, 10, tzinfo=UTC), datetime(2027, 3, 2, tzinfo=UTC))
    assert no_leap == (datetime(2027, 3, 1, tzinfo=UTC),)
    across_a_year = calendar_instants(
        datetime(2026, 12, 31, 23, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert across_a_year == (datetime(2027, 1, 1, tzinfo=UTC),)


def test_the_default_starts_include_a_leap_day_month_ends_and_year_ends() -> None:
    assert CALENDAR_STARTS[0] == START  # what a shrunk story starts at when the date is moot
    assert any(s.month == 2 and s.day == 29 for s in CALENDAR_STARTS)
    assert any(s.month == 12 and s.day == 31 for s in CALENDAR_STARTS)
    assert any(s.month == 1 and s.day == 31 for s in CALENDAR_STARTS)


class _Starts(LedgerStateMachine):
    """Records where each example started."""

    rebuild_views = False
    seen: ClassVar[Counter[datetime]] = Counter()

    def teardown(self) -> None:
        if self.harness.history:
            type(self).seen[self.harness.history[0].at] += 1
        super().teardown()


def test_examples_start_across_the_calendar_by_default_and_at_start_when_fixed() -> None:
    _Starts.seen = Counter()
    run(_Starts, steps=400)
    years = {moment.year for moment in _Starts.seen}
    assert len(years) >= 2
    assert any(moment.year in (2024, 2028, 2032) for moment in _Starts.seen)  # a leap year
    _Starts.seen = Counter()
    fixed = datetime(2028, 2, 28, 23, 59, tzinfo=UTC)
    run(_Starts, steps=200, start=fixed)
    assert set(_Starts.seen) == {fixed}


def test_the_leap_year_slip_is_caught_by_default_and_told_in_its_year() -> None:
    with pytest.raises(ModelMismatch) as caught:
        run(_mutant("YearOfPurchaseDenominator"), steps=2_000)
    story = str(caught.value)
    assert "365-day term" in story
    assert "2028" in story or "2024" in story or "2032" in story
    # The money mismatch carries the model's arithmetic.
    assert "the model: R8: total" in story
    assert "/ 365 =" in story


def test_a_policy_pinned_to_one_start_never_sees_a_leap_year() -> None:
    report = run(_mutant("YearOfPurchaseDenominator"), steps=600, start=START)
    assert report.steps >= 600


# -- one readable story ----------------------------------------------------------------------


def test_a_rounding_mismatch_shows_the_total_the_days_and_the_formula() -> None:
    with pytest.raises(ModelMismatch) as caught:
        run(_mutant("RoundsHalfUp"), steps=2_000)
    story = str(caught.value)
    assert "the model: R8: total" in story
    assert "day(s) used of the" in story
    assert "half-even" in story
    names = [line for line in story.splitlines() if "adds customer" in line]
    assert names
    assert all(any(f"'{n}'" in line for n in NAMES.elements) for line in names)


class EightDays(LedgerStateMachine):
    policy = CancellationPolicy({**SPEC_WINDOWS, ProductKind.SUBSCRIPTION: 8 * DAY})
    reference = ReferenceRules({**SPEC_WINDOWS, ProductKind.SUBSCRIPTION: 7 * DAY})


def test_a_failing_test_case_reports_one_story_without_hypothesis_frames(
    record_property: pytest.RecordProperty,
) -> None:
    result = unittest.TestResult()
    EightDays.TestCase().run(result)
    assert len(result.failures) == 1
    text = result.failures[0][1]
    assert "ModelMismatch" in text
    assert text.count("Given\n") == 1  # one story, not "3 distinct failures"
    assert "distinct failures" not in text
    record_property("state_machine", "EightDays.TestCase: one story")


# -- stories pinned as tests -----------------------------------------------------------------


def _pytest(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(directory)}
    environment.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


MY_POLICY = """
from datetime import timedelta
from ledger import CancellationPolicy, ProductKind
from ledger.testing import LedgerStateMachine, ReferenceRules

DAY = timedelta(days=1)


class MyProgramme(LedgerStateMachine):
    policy = CancellationPolicy({ProductKind.PERPETUAL: 30 * DAY, ProductKind.SUBSCRIPTION: WINDOW})
    reference = ReferenceRules({ProductKind.PERPETUAL: 30 * DAY, ProductKind.SUBSCRIPTION: 7 * DAY})
"""


def test_a_story_written_as_pytest_fails_while_the_slip_stands_and_passes_once_fixed(
    tmp_path: Path,
) -> None:
    (tmp_path / "my_policy.py").write_text(MY_POLICY.replace("WINDOW", "8 * DAY"))
    sys.path.insert(0, str(tmp_path))
    try:
        import my_policy  # noqa: PLC0415 (written by this test)

        with pytest.raises(ModelMismatch) as caught:
            run(my_policy.MyProgramme, steps=2_000)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_policy", None)
    pinned = caught.value.story.as_pytest()
    compile(pinned, "test_pinned.py", "exec")
    (tmp_path / "test_pinned.py").write_text(pinned)
    broken = _pytest(tmp_path, "test_pinned.py")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "ModelMismatch" in broken.stdout
    assert "Given" in broken.stdout
    (tmp_path / "my_policy.py").write_text(MY_POLICY.replace("WINDOW", "7 * DAY"))
    fixed = _pytest(tmp_path, "test_pinned.py")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "1 passed" in fixed.stdout


def test_a_story_of_a_machine_defined_in_main_asks_where_to_import_it_from() -> None:
    with pytest.raises(ModelMismatch) as caught:
        run(_mutant("WindowOf31Days"), steps=2_000, shrink=False)
    story = caught.value.story
    with pytest.raises(InvalidInput, match="machine"):
        story.as_pytest(machine="__main__:WindowOf31Days")
    written = story.as_pytest(machine="tests.test_policy_mutants:Anything", name="test_pinned")
    assert "def test_pinned() -> None:" in written
    assert "from tests.test_policy_mutants import Anything" in written


# -- a policy switch part-way (R20) ----------------------------------------------------------


class SwitchToSevenDays(LedgerStateMachine):
    next_policy = SEVEN_DAYS
    rebuild_views = False
    switched = 0

    def switch_policy(self) -> None:
        super().switch_policy()
        type(self).switched += 1


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgres"])
def test_a_machine_that_switches_policy_part_way_passes_and_checks_the_older_orders(
    store: str, record_property: pytest.RecordProperty
) -> None:
    url = require_postgres() if store == "postgres" else store
    machine = type(f"SwitchToSevenDaysOn{store.title()}", (SwitchToSevenDays,), {"store": url})
    counted: Any = machine
    counted.switched = 0
    report = run(machine, steps=600 if store == "memory" else 200)
    assert counted.switched > 0
    record_property("state_machine", f"{report} ({counted.switched} switches)")


class ForgetsTheEarlierPolicy(SwitchToSevenDays):
    """A deployment that opens the ledger with the new policy only: old orders are stranded."""

    store = "sqlite"

    def open_ledger(self, url: str, clock: ManualClock) -> Ledger:
        return open_test_ledger(url, clock, self.current_policy, secret_key=self.secret_key)


def test_a_switch_that_forgets_the_earlier_policy_is_caught_on_the_older_orders() -> None:
    with pytest.raises(ModelMismatch) as caught:
        run(ForgetsTheEarlierPolicy, steps=2_000)
    story = str(caught.value)
    assert "policy 'subscriptions-7d/2026-11' is deployed" in story
    assert "ConfigurationError" in story


def test_switch_policy_without_a_next_policy_is_a_mismatch_not_a_crash() -> None:
    with Scenario() as spec, pytest.raises(ModelMismatch, match="next_policy"):
        spec.driver.run(SwitchPolicy("x"))


# -- compare ---------------------------------------------------------------------------------


def test_compare_finds_the_simplest_order_on_which_two_windows_differ() -> None:
    wider = CancellationPolicy({**SPEC_WINDOWS, ProductKind.SUBSCRIPTION: 31 * DAY})
    found = compare(wider, CancellationPolicy.default())
    assert found is not None
    assert found.terms.product.kind is ProductKind.SUBSCRIPTION
    assert found.terms.quantity == 1
    assert found.deadline_a != found.deadline_b
    assert "differ on 1 × SUBSCRIPTION" in str(found)


def test_compare_finds_the_leap_year_slip_on_an_order_bought_in_a_leap_year() -> None:
    found = compare(YearOfPurchaseDenominator(SPEC_WINDOWS), CancellationPolicy.default())
    assert found is not None
    assert found.terms.product.term_days == 365
    assert found.terms.purchased_at.year % 4 == 0
    assert found.credit_a != found.credit_b


def test_compare_names_a_credit_the_ledger_would_refuse() -> None:
    found = compare(RoundsHalfUp(SPEC_WINDOWS), CancellationPolicy.default())
    assert found is not None
    assert isinstance(found.credit_a, Money)
    assert isinstance(found.credit_b, Money)


def test_compare_of_a_policy_with_itself_finds_nothing() -> None:
    same = CancellationPolicy.seven_day_subscriptions()
    assert compare(SEVEN_DAYS, same, max_examples=300) is None


def test_compare_refuses_what_is_not_a_policy() -> None:
    with pytest.raises(InvalidInput, match="policy_b"):
        compare(SEVEN_DAYS, object())


# -- Scenario given events -------------------------------------------------------------------


def _history() -> tuple[list[RecordedEvent], UUID]:
    with Scenario() as source:
        source.given(
            AddCustomer(AGENT, CONTOSO),
            Purchase(AGENT, CONTOSO.tenant_id, OFFICE, 1, Money("365.00", "EUR"), "o1"),
        )
        return source.recorded_events(), source.order_id("o1")


@pytest.mark.parametrize("store", ["memory", "sqlite", "postgres"])
def test_given_events_are_a_history_the_ledger_then_acts_on(store: str) -> None:
    url = require_postgres() if store == "postgres" else store
    history, order_id = _history()
    with Scenario(store=url) as spec:
        spec.given_events(*history, aliases={"o1": order_id})
        (item,) = spec.ledger.software(AGENT, CONTOSO.tenant_id)
        assert item.order_id == order_id
        assert item.total == Money("365.00", "EUR")
        spec.when(Cancel(AGENT, "o1"), after=2 * DAY)
        spec.then(
            event("Order.Cancelled", order="o1", user="ann"),
            event("Order.CreditIssued", order="o1", amount=Money("362.00", "EUR")),
            event("Licence.KeysRevoked", order="o1"),
        )


def test_given_events_from_an_older_release_are_upcast_and_governed_by_the_default() -> None:
    history, order_id = _history()
    purchased = next(e for e in history if e.name == "Order.Purchased")
    old = {
        k: v
        for k, v in purchased.payload.items()
        if k not in ("policy_id", "versions", "languages", "bitness")
    }
    old["class_version"] = 2
    older = [
        e if e is not purchased else RecordedEvent(**{**vars(e), "payload": old}) for e in history
    ]
    with Scenario(policy=SEVEN_DAYS) as spec:
        spec.given_events(*older, aliases={"o1": order_id})
        spec.when(Cancel(AGENT, "o1"), after=8 * DAY)
        # Bought under the standard 30 days (R20's default for old orders), not the seven.
        spec.then_raises(ConfigurationError)
    with Scenario(policy=SEVEN_DAYS) as spec:
        spec.given_events(*older, aliases={"o1": order_id})
        spec.ledger.close()
    with Scenario() as spec:
        spec.given_events(*older, aliases={"o1": order_id})
        spec.when(Cancel(AGENT, "o1"), after=8 * DAY).then(
            event("Order.Cancelled", order="o1"),
            event("Order.CreditIssued", order="o1", amount=Money("356.00", "EUR")),
            event("Licence.KeysRevoked", order="o1"),
        )


def test_a_given_event_that_does_not_decode_is_invalid_input_naming_it_and_writes_nothing() -> None:
    history, _ = _history()
    broken = RecordedEvent(
        **{**vars(history[1]), "payload": {**history[1].payload, "quantity": "many"}}
    )
    with Scenario() as spec:
        with pytest.raises(InvalidInput, match=r"history\[2\]"):
            spec.given_events(history[0], broken)
        assert spec.recorded_events() == []
        with pytest.raises(InvalidInput, match=r"history\[1\]"):
            spec.given_events("Order.Purchased")  # type: ignore[arg-type]


def test_an_export_read_back_is_a_given_history(tmp_path: Path) -> None:
    with Scenario() as source:
        source.given(
            AddCustomer(AGENT, CONTOSO),
            Purchase(AGENT, CONTOSO.tenant_id, OFFICE, 2, Money("10.00", "EUR"), "o1"),
        )
        path = tmp_path / "history.jsonl"
        with path.open("w") as out:
            source.ledger.audit.export_events(out, "jsonl")
        order_id = source.order_id("o1")
    with Scenario() as spec:
        spec.given_events(*read_export(path), aliases={"o1": order_id})
        (item,) = spec.ledger.software(AGENT, CONTOSO.tenant_id)
        assert item.total == Money("20.00", "EUR")


# -- the user's own rules --------------------------------------------------------------------


@dataclass
class _Seen:
    bulk: int = 0


class WithABulkPurchaseRule(LedgerStateMachine):
    """The documented way to add a rule: a method with @rule, running commands via self.run."""

    rebuild_views = False
    seen = _Seen()

    @rule(tenant_id=LedgerStateMachine.tenants)
    def bulk_purchase_then_cancel_the_first(self, tenant_id: UUID) -> None:
        agent = self.actor("agent", self._owner(tenant_id), tenant_id)
        first = None
        for _ in range(3):
            alias = self._alias("bulk")
            outcome = self.run(Purchase(agent, tenant_id, OFFICE, 1, Money("3.65", "EUR"), alias))
            first = first or (None if outcome.error else alias)
        self.run(Wait(DAY))
        if first is not None:
            self.run(Cancel(agent, first))
            type(self).seen.bulk += 1


def test_a_users_own_rule_runs_beside_the_machines_and_is_checked_like_them() -> None:
    WithABulkPurchaseRule.seen = _Seen()
    run(WithABulkPurchaseRule, steps=600)
    assert WithABulkPurchaseRule.seen.bulk > 0


# -- the pytest plugin -----------------------------------------------------------------------

USING_THE_PLUGIN = """
from datetime import timedelta
from uuid import uuid4

from hypothesis import settings

from ledger import Actor, Customer, Role

AGENT = Actor(user="ann", roles={Role.ADMIN_AGENT}, partner_id="P1")


def test_a_purchase_on_each_store(scratch_ledger, ledger_clock, ledger_store):
    customer = Customer(tenant_id=uuid4(), domain="c.example", name="C", market="NL")
    scratch_ledger.add_customer(AGENT, customer)
    ledger_clock.advance(timedelta(hours=1))
    assert scratch_ledger.software(AGENT, customer.tenant_id) == []
    assert ledger_store.split(":")[0] in ("memory", "sqlite", "postgresql")


def test_the_profile_is_the_plugins():
    assert settings().derandomize is True
    assert settings().deadline is None
"""


def test_the_pytest_plugin_gives_store_fixtures_and_profiles_to_a_users_suite(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_users_suite.py").write_text(textwrap.dedent(USING_THE_PLUGIN))
    postgres = require_postgres() if IN_CI else None
    arguments = ["--hypothesis-profile=ledger-ci", "-v", "-v"]  # past _pytest's -q
    if postgres:
        arguments.append(f"--ledger-postgres={postgres}")
    result = _pytest(tmp_path, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_a_purchase_on_each_store[memory] PASSED" in result.stdout
    assert "test_a_purchase_on_each_store[sqlite] PASSED" in result.stdout
    if postgres:
        assert "test_a_purchase_on_each_store[postgresql] PASSED" in result.stdout
    only_memory = _pytest(tmp_path, "--hypothesis-profile=ledger-ci", "--ledger-stores=memory")
    assert "2 passed" in only_memory.stdout, only_memory.stdout


def test_the_plugin_fails_a_postgres_test_without_a_server_when_postgres_is_required(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_pg.py").write_text(
        "def test_pg(ledger_postgres_store):\n    assert ledger_postgres_store\n"
    )
    environment_free = {k: v for k, v in os.environ.items() if k != "LEDGER_TEST_POSTGRES_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ledger-require-postgres",
        ],
        cwd=tmp_path,
        env={**environment_free, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "no PostgreSQL server" in result.stdout
    skipped = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=tmp_path,
        env={**environment_free, "CI": "", "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 skipped" in skipped.stdout, skipped.stdout

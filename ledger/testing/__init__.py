"""Tools for property-testing cancellation rules against the ledger, like `structlog.testing`.

* `LedgerStateMachine` — a hypothesis state machine that drives a `Ledger`
  and a plain `ReferenceModel` side by side; subclass it with your own
  ``policy`` and ``rules``.
* `run` — run a machine for N steps with a fixed seed (scripts and CI).
* `strategies` — hypothesis strategies for markets, money, customers,
  products, actors and whole command sequences; `run_commands` replays one.
* `Scenario` — Given/When/Then specs: given this history, when this command,
  then these events or this error.
* `branch_coverage` — which branches of a policy's ``credit`` a run went down.
* `compare` — the simplest order on which two policies differ.
* `replay` — a failing story pinned as a test (``ModelMismatch.story.as_pytest()``).
* A pytest plugin (`ledger.testing.plugin`, entry point ``ledger``): store fixtures
  and the ``ledger-dev``/``ledger-ci`` hypothesis profiles.

A disagreement is a `ModelMismatch` that tells the (shrunk) example as a
Given/When/Then story; the clock aims at every boundary a policy announces
(`CancellationPolicy.boundaries`).

Needs hypothesis: ``pip install "ledger[testing]"``.
"""

from ledger.testing import strategies
from ledger.testing.clock import START, ManualClock
from ledger.testing.commands import (
    AddCustomer,
    AskCancellationStatus,
    Cancel,
    Command,
    Context,
    Download,
    Purchase,
    RequestRefund,
    ResolveRefund,
    SwitchPolicy,
    ViewKey,
    Wait,
)
from ledger.testing.compare import PolicyDifference, compare
from ledger.testing.coverage import BranchCoverage, branch_coverage
from ledger.testing.dates import CALENDAR_STARTS, calendar_instants, start_instants
from ledger.testing.harness import Harness, Outcome
from ledger.testing.machine import LedgerStateMachine
from ledger.testing.mismatch import ModelMismatch
from ledger.testing.model import ModelOrder, ReferenceModel, ReferenceRules
from ledger.testing.runner import DEFAULT_SEED, RunReport, replay, run, run_commands
from ledger.testing.shapes import ProductShape
from ledger.testing.specs import ExpectedEvent, RecordedEvent, Scenario, event, read_export
from ledger.testing.stores import open_test_ledger, scratch_store
from ledger.testing.story import Story
from ledger.testing.strategies import (
    actors,
    command_sequences,
    currencies,
    customers,
    markets,
    money,
    products,
    unit_prices,
)

__all__ = [
    "AddCustomer",
    "AskCancellationStatus",
    "BranchCoverage",
    "CALENDAR_STARTS",
    "Cancel",
    "Command",
    "Context",
    "DEFAULT_SEED",
    "Download",
    "ExpectedEvent",
    "Harness",
    "LedgerStateMachine",
    "ManualClock",
    "ModelMismatch",
    "ModelOrder",
    "PolicyDifference",
    "Outcome",
    "ProductShape",
    "Purchase",
    "RecordedEvent",
    "ReferenceModel",
    "ReferenceRules",
    "RequestRefund",
    "ResolveRefund",
    "RunReport",
    "START",
    "Scenario",
    "Story",
    "SwitchPolicy",
    "ViewKey",
    "Wait",
    "actors",
    "branch_coverage",
    "calendar_instants",
    "command_sequences",
    "compare",
    "currencies",
    "customers",
    "event",
    "markets",
    "money",
    "open_test_ledger",
    "products",
    "read_export",
    "replay",
    "run",
    "run_commands",
    "scratch_store",
    "start_instants",
    "strategies",
    "unit_prices",
]

"""Given/When/Then specs: given this history, when this command, then these events or this error.

::

    with Scenario() as spec:
        spec.given(AddCustomer(agent, contoso))
        spec.given(Purchase(agent, contoso.tenant_id, office, 1, Money("100.00", "EUR"), "o1"))
        spec.when(Cancel(agent, "o1"), after=timedelta(days=30))
        spec.then_raises(CancellationWindowClosed)

The history is written as the commands that recorded it, so the store holds
exactly the events the ledger itself writes (keys sealed, views built). Then
compares the events the *when* command appended, read back from the audit
export, in order: `event` names one and the fields that matter to the rule.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from pydantic_core import to_jsonable_python

from ledger.application import Ledger
from ledger.errors import InvalidInput, LedgerError
from ledger.mapper import CompactJSONTranscoder, PydanticMapper
from ledger.money import Money
from ledger.policies.cancellation import CancellationPolicy
from ledger.testing.clock import START, ManualClock
from ledger.testing.commands import Command
from ledger.testing.driver import Driver
from ledger.testing.stores import open_test_ledger, scratch_store

__all__ = ["ExpectedEvent", "RecordedEvent", "Scenario", "event", "read_export"]


@dataclass(frozen=True)
class RecordedEvent:
    """One stored event: ``name`` like ``"Order.CreditIssued"``, its payload as JSON values."""

    position: int
    name: str
    originator_id: UUID
    user: str
    at: datetime
    payload: dict[str, Any]
    #: The event's version in its aggregate's stream (1 for the first).
    version: int = 1

    @property
    def order_id(self) -> UUID:
        """The order the event is about (an order's own id, or the one it names)."""
        named = self.payload.get("order_id")
        return UUID(named) if named else self.originator_id


@dataclass(frozen=True)
class ExpectedEvent:
    name: str
    order: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        about = f" of {self.order}" if self.order else ""
        return f"{self.name}{about}({shown})"


def event(name: str, /, *, order: str | None = None, **fields: Any) -> ExpectedEvent:
    """Expect an event by name (``"Order.Cancelled"``), optionally its order alias and fields.

    Field values are compared as the stored JSON: `Money`, UUIDs, datetimes,
    enums and tuples may be given as themselves (a `Money` matches the field's
    amount together with the event's ``currency``). ``user`` and ``at`` match
    who recorded the event and when.
    """
    return ExpectedEvent(name, order, fields)


def read_export(path: str | Path) -> list[RecordedEvent]:
    """The events of a JSONL export (``ledger audit export --format jsonl``), for
    `Scenario.given_events`: a production history replayed under a test's rules."""
    rows = (json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line)
    return [_recorded(row) for row in rows if "position" in row]


def _recorded(row: dict[str, Any]) -> RecordedEvent:
    body = json.loads(row["body"])
    return RecordedEvent(
        position=row["position"],
        name=_topic_name(row["topic"]),
        originator_id=UUID(row["originator_id"]),
        user=body.get("user", ""),
        at=datetime.fromisoformat(body["timestamp"]),
        payload={
            k: v
            for k, v in body.items()
            if k not in ("originator_id", "originator_version", "timestamp")
        },
        version=row["originator_version"],
    )


_KEYLESS = PydanticMapper(transcoder=CompactJSONTranscoder())


def _domain_event(number: int, recorded: RecordedEvent) -> Any:
    """A stored event's domain event, decoded (and upcast) as the ledger reads its own."""
    field = f"history[{number}]"
    if not isinstance(recorded, RecordedEvent):
        raise InvalidInput(field, f"must be a RecordedEvent, not {type(recorded).__name__}")
    # The topic names the class; its version is the payload's class_version (upcast on read).
    topic = f"ledger:{recorded.name}.v1"
    body = {
        **recorded.payload,
        "originator_id": str(recorded.originator_id),
        "originator_version": recorded.version,
        "timestamp": recorded.at.isoformat(),
    }
    stored = StoredEvent(
        originator_id=recorded.originator_id,
        originator_version=recorded.version,
        topic=topic,
        state=CompactJSONTranscoder().encode(body),
    )
    try:
        return _KEYLESS.to_domain_event(stored)
    except Exception as error:  # a hand-written payload may be wrong in any way
        raise InvalidInput(field, f"{recorded.name} does not decode: {error}") from None


def _as_json(value: object) -> Any:
    return to_jsonable_python(
        value, fallback=lambda v: v.to_dict() if isinstance(v, Money) else str(v)
    )


def _topic_name(topic: str) -> str:
    # "ledger:Order.CreditIssued.v1" → "Order.CreditIssued"
    return topic.removeprefix("ledger:").rsplit(".v", 1)[0]


class Scenario:
    """A fresh ledger on a `ManualClock`, driven by commands, with event-level assertions."""

    def __init__(
        self,
        *,
        policy: CancellationPolicy | None = None,
        store: str = "memory",
        start: datetime = START,
    ) -> None:
        self.clock = ManualClock(start)
        with contextlib.ExitStack() as opening:
            # If opening fails, the scratch store is removed at once, not left behind.
            url = opening.enter_context(scratch_store(store))
            self.ledger: Ledger = opening.enter_context(open_test_ledger(url, self.clock, policy))
            self._exit = opening.pop_all()
        self.driver = Driver(self.ledger, self.clock)
        self.result: Any = None
        self.error: LedgerError | None = None
        self.new_events: list[RecordedEvent] = []
        self._ran = False

    def __enter__(self) -> Scenario:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._exit.close()

    def order_id(self, alias: str) -> UUID:
        return self.driver.order_id(alias)

    def recorded_events(self) -> list[RecordedEvent]:
        """Every stored event, oldest first, read through the auditors' export."""
        buffer = io.StringIO()
        self.ledger.audit.export_events(buffer, "jsonl")
        lines = (json.loads(line) for line in buffer.getvalue().splitlines())
        # Event rows carry the stored body as JSON text; the header and closing lines do not.
        return [_recorded(row) for row in lines if "position" in row]

    # -- given / when / then ---------------------------------------------------------------

    def given(self, *history: Command) -> Scenario:
        """Record the history; every command in it must succeed."""
        for command in history:
            try:
                self.driver.run(command)
            except LedgerError as error:
                raise AssertionError(f"given {command!r} failed: {error!r}") from error
        return self

    def given_events(
        self, *history: RecordedEvent, aliases: Mapping[str, UUID] | None = None
    ) -> Scenario:
        """Store a raw history as it is, without running commands: events from another
        store (``recorded_events()``, or an export read with `read_export`), an old
        release's events, or ones written by hand as `RecordedEvent` values.

        Each is decoded as the ledger decodes what it reads (an old ``class_version`` is
        upcast; a payload that does not validate is `InvalidInput` naming the event), then
        sealed with this store's audit key and appended: queries and commands see it like
        anything the ledger recorded. Licence keys never leave their store (R14), so a
        licence given as events has no key to show. ``aliases`` names given orders
        (``{"o1": order_id}``) so that later commands and `event` can say ``"o1"``.
        """
        events = [_domain_event(number, recorded) for number, recorded in enumerate(history, 1)]
        try:
            self.ledger._uow.events.save(*events)
        except IntegrityError as clash:
            raise InvalidInput(
                "history", f"two events claim the same version of one stream: {clash}"
            ) from None
        for alias, order_id in (aliases or {}).items():
            self.driver.order_ids[alias] = order_id
        return self

    def when(self, command: Command, *, after: timedelta | None = None) -> Scenario:
        """Run the command under test (``after`` moves the clock first); keep its outcome."""
        if after is not None:
            self.clock.advance(after)
        # The chain's head is the last recorded position: one cheap read, not an export.
        head = self.ledger.audit.digest().position
        self._ran = True
        try:
            self.result = self.driver.run(command)
        except LedgerError as error:
            self.error = error
        self.new_events = [e for e in self.recorded_events() if e.position > head]
        return self

    def then(self, *expected: ExpectedEvent) -> Scenario:
        """The command succeeded and appended exactly these events, in this order."""
        self._require_when()
        if self.error is not None:
            raise AssertionError(f"expected events, but the command raised {self.error!r}")
        names = [e.name for e in self.new_events]
        if len(self.new_events) != len(expected):
            wanted = [str(e) for e in expected]
            raise AssertionError(f"expected events {wanted}, recorded {names}")
        for recorded, wanted_event in zip(self.new_events, expected, strict=True):
            self._match(recorded, wanted_event)
        return self

    def then_raises(self, error: type[LedgerError]) -> Scenario:
        """The command raised exactly this error type and recorded nothing."""
        self._require_when()
        if type(self.error) is not error:
            got = "success" if self.error is None else repr(self.error)
            raise AssertionError(f"expected {error.__name__}, got {got}")
        if self.new_events:
            raise AssertionError(
                f"{error.__name__} was raised but {[e.name for e in self.new_events]} recorded"
            )
        return self

    def _require_when(self) -> None:
        if not self._ran:
            raise AssertionError("call when(...) before then(...)")

    def _match(self, recorded: RecordedEvent, expected: ExpectedEvent) -> None:
        problems: list[str] = []
        if recorded.name != expected.name:
            problems.append(f"name {recorded.name!r}")
        if expected.order is not None and recorded.order_id != self.order_id(expected.order):
            problems.append(f"order {recorded.order_id} is not {expected.order}")
        for key, value in expected.fields.items():
            actual: object
            wanted: object = value
            if key == "user":
                actual = recorded.user
            elif key == "at":
                actual = recorded.at
            elif isinstance(value, Money):
                # Events store money flat: the amount under its own name, beside "currency".
                payload = recorded.payload
                actual = {"amount": payload.get(key), "currency": payload.get("currency")}
                wanted = value.to_dict()
            else:
                actual, wanted = recorded.payload.get(key, "<missing>"), _as_json(value)
            if actual != wanted:
                problems.append(f"{key}={actual!r}, expected {wanted!r}")
        if problems:
            raise AssertionError(
                f"expected {expected}, recorded {recorded.name}: {'; '.join(problems)}"
            )

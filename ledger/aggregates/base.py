"""The pydantic event base shared by every aggregate.

Events are frozen pydantic models whose fields are flat and named in the
event itself: plain str, int, bool, Decimal, UUID, datetime and tuples,
never a public value class such as `Money` or `Product` (changing those
must not change what is stored). Each has a stable ``TOPIC`` that is never
renamed once stored (the ``.v1`` in it is part of the name), and a
``class_version`` for its schema: a change to the fields is a new
``class_version`` with an ``upcast_vN_vM`` static method, which
`ledger.mapper` applies when it loads an older event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.utils import register_topic
from pydantic import BaseModel, ConfigDict, model_validator

# Fixed forever: ids derived from it (tenants, licences, idempotent orders) are stored.
LEDGER_NAMESPACE = UUID("5b0f3c3e-6a53-4c55-9f0e-0d1d6c1e7a42")

_EVENT_CLASSES: dict[str, type[LedgerEvent]] = {}


@lru_cache(maxsize=8192)
def derived_id(kind: str, *parts: str) -> UUID:
    """A deterministic id, so that the same natural key always finds the same aggregate.

    Memoised: a command path asks for the same licence and tenant ids again and again
    (purchase, view key, cancel), and uuid5 hashes its input each time.
    """
    return uuid5(LEDGER_NAMESPACE, "\x1f".join((kind, *parts)))


class LedgerEvent(BaseModel):
    """An immutable fact. ``timestamp`` is when it happened (aware UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TOPIC: ClassVar[str] = ""
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    timestamp: datetime

    @model_validator(mode="after")
    def _utc(self) -> Any:
        # Stored timestamps come back with pydantic's own tzinfo; hand out plain UTC.
        # One pass per event over its datetime fields (a per-field validator costs a
        # Python call for every field of every event a replay reads).
        values = self.__dict__
        for name in _datetime_fields(type(self)):
            value = values[name]
            if value is not None and value.tzinfo is not UTC:
                values[name] = value.astimezone(UTC)
        return self

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        topic = cls.__dict__.get("TOPIC")
        if topic:
            # eventsourcing's own registry resolves the stable topic (and refuses a
            # second class for it); ours lists which topics are the ledger's events.
            register_topic(topic, cls)
            _EVENT_CLASSES[topic] = cls


@cache
def _datetime_fields(cls: type[LedgerEvent]) -> tuple[str, ...]:
    return tuple(
        name
        for name, info in cls.model_fields.items()
        if info.annotation is datetime or info.annotation == datetime | None
    )


def is_ledger_topic(topic: str) -> bool:
    return topic in _EVENT_CLASSES


def registered_topics() -> dict[str, type[LedgerEvent]]:
    """Every event topic the ledger can store, with its class."""
    return dict(_EVENT_CLASSES)

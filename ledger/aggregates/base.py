"""The pydantic event base shared by every aggregate.

Events are frozen pydantic models with a stable, versioned ``TOPIC`` (never
renamed once stored) and an optional ``class_version`` with
``upcast_vN_vM`` static methods, which `ledger.mapper` applies on load.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, field_validator

# Fixed forever: ids derived from it (tenants, licences, idempotent orders) are stored.
LEDGER_NAMESPACE = UUID("5b0f3c3e-6a53-4c55-9f0e-0d1d6c1e7a42")

_TOPICS: dict[str, type[LedgerEvent]] = {}


def derived_id(kind: str, *parts: str) -> UUID:
    """A deterministic id, so that the same natural key always finds the same aggregate."""
    return uuid5(LEDGER_NAMESPACE, "\x1f".join((kind, *parts)))


class LedgerEvent(BaseModel):
    """An immutable fact. ``timestamp`` is when it happened (aware UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TOPIC: ClassVar[str] = ""
    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    timestamp: datetime

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        # Stored timestamps come back with pydantic's own tzinfo; hand out plain UTC.
        return value.astimezone(UTC) if isinstance(value, datetime) else value

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        topic = cls.__dict__.get("TOPIC")
        if topic:
            if topic in _TOPICS and _TOPICS[topic] is not cls:
                raise TypeError(f"event topic {topic!r} is already taken by {_TOPICS[topic]}")
            _TOPICS[topic] = cls


def event_class_for(topic: str) -> type[LedgerEvent]:
    try:
        return _TOPICS[topic]
    except KeyError:
        raise LookupError(f"no event class is registered for topic {topic!r}") from None


def registered_topics() -> dict[str, type[LedgerEvent]]:
    return dict(_TOPICS)

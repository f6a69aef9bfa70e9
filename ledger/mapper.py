"""Stored event <-> pydantic event, for eventsourcing 9.5.6 (which ships no pydantic mapper).

A custom mapper bypasses the library's upcasting, so it lives here: a stored
``class_version`` older than the class's is brought forward through the
class's ``upcast_vN_vM`` static methods, one step at a time.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from ledger.aggregates.base import LedgerEvent, event_class_for


class PydanticMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        assert isinstance(domain_event, LedgerEvent)
        cls = type(domain_event)
        state = domain_event.model_dump(mode="json")
        if cls.class_version > 1:
            state["class_version"] = cls.class_version
        stored = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=cls.TOPIC,
            state=stored,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> LedgerEvent:
        stored = stored_event.state
        if self.cipher:
            stored = self.cipher.decrypt(stored)
        if self.compressor:
            stored = self.compressor.decompress(stored)
        state: dict[str, Any] = json.loads(stored)
        cls = event_class_for(stored_event.topic)
        version = state.pop("class_version", 1)
        while version < cls.class_version:
            upcast = getattr(cls, f"upcast_v{version}_v{version + 1}")
            upcast(state)
            version += 1
        return cls.model_validate(state)

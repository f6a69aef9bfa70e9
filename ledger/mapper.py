"""Stored event <-> pydantic event, for eventsourcing 9.5.6 (which ships no pydantic mapper).

It keeps eventsourcing's `Mapper` contract and hooks (the transcoder, then
the optional compressor and cipher, in the library's order) and its topic
registry; pydantic does what eventsourcing's transcodings would otherwise
do. Two things the library's mapper cannot do for pydantic models live
here: upcasting (a stored ``class_version`` older than the class's is
brought forward through the class's ``upcast_vN_vM`` static methods, one
step at a time) and validation on load. Only topics the ledger registered
are resolved, so a damaged or forged row never makes us import a module it
names. Anything that goes wrong on load is an `EventDecodingError`.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic, resolve_topic

from ledger.aggregates.base import LedgerEvent, is_ledger_topic
from ledger.errors import EventDecodingError

__all__ = ["CompactJSONTranscoder", "PydanticMapper"]


class CompactJSONTranscoder(Transcoder):
    """Plain JSON with sorted keys: pydantic has already made every value JSON-ready."""

    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    def register(self, transcoding: Transcoding) -> None:
        raise TypeError("pydantic models serialise themselves; no transcodings are needed")


class PydanticMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if not isinstance(domain_event, LedgerEvent):
            raise TypeError(f"not a ledger event: {type(domain_event).__name__}")
        cls = type(domain_event)
        state = domain_event.model_dump(mode="json")
        if cls.class_version > 1:
            state["class_version"] = cls.class_version
        stored = self.transcoder.encode(state)
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(cls),
            state=stored,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> LedgerEvent:
        topic = stored_event.topic
        try:
            if not is_ledger_topic(topic):
                raise LookupError(f"no ledger event is registered for topic {topic!r}")
            cls: type[LedgerEvent] = resolve_topic(topic)
            stored = stored_event.state
            if self.cipher:
                stored = self.cipher.decrypt(stored)
            if self.compressor:
                stored = self.compressor.decompress(stored)
            state: dict[str, Any] = self.transcoder.decode(stored)
            version = state.pop("class_version", 1)
            while version < cls.class_version:
                getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
                version += 1
            return cls.model_validate(state)
        except Exception as error:
            raise EventDecodingError(
                f"stored event {topic!r} of {stored_event.originator_id}"
                f" v{stored_event.originator_version} cannot be read: {error}",
                topic=topic,
                originator_id=stored_event.originator_id,
                version=stored_event.originator_version,
            ) from error

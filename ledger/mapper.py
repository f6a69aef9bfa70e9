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

Sealing (R18): with a ``seal_key`` the mapper appends each event's keyed
MAC to its stored bytes (`ledger.sealing`) as the last step of writing, and
checks it as the first step of reading: a row written by someone without the
key is refused. Events stored before sealing existed carry no seal; they are
read only when ``accept_unsealed`` is set, which the ledger does for a store
whose pre-sealing history was sealed as a whole (`ledger.aggregates.AuditSeal`).
Without a key (tools, golden-file tests) nothing is sealed or checked.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic, resolve_topic

from ledger import sealing
from ledger.aggregates.base import LedgerEvent, is_ledger_topic
from ledger.errors import EventDecodingError

__all__ = ["CompactJSONTranscoder", "PydanticMapper"]


#: What ``json.dumps(obj, separators=(",", ":"), sort_keys=True)`` uses, built once
#: (dumps builds a new encoder on every call that passes options).
_COMPACT = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


class CompactJSONTranscoder(Transcoder):
    """Plain JSON with sorted keys: pydantic has already made every value JSON-ready."""

    def encode(self, obj: Any) -> bytes:
        return _COMPACT.encode(obj).encode()

    def decode(self, data: bytes) -> Any:
        # From text, json skips guessing the encoding of bytes (UTF-8 is what encode wrote).
        return json.loads(data.decode("utf-8"))

    def register(self, transcoding: Transcoding) -> None:
        raise TypeError("pydantic models serialise themselves; no transcodings are needed")


class PydanticMapper(Mapper[UUID]):
    #: The audit MAC key; None: write unsealed, read without checking seals.
    seal_key: bytes | None = None
    #: Whether an unsealed row is read when a key is set (a store with pre-sealing history).
    accept_unsealed: bool = False

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
        topic = get_topic(cls)
        if self.seal_key is not None:
            stored = sealing.seal(
                self.seal_key,
                domain_event.originator_id,
                domain_event.originator_version,
                topic,
                stored,
            )
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topic,
            state=stored,
        )

    def unseal(self, stored_event: StoredEvent) -> bytes:
        """The body of a stored state whose seal checks out (or any body, without a key)."""
        state = bytes(stored_event.state)
        if self.seal_key is None:
            return sealing.split(state)[0]
        checked = sealing.check(
            self.seal_key,
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.topic,
            state,
        )
        if checked is not None:
            return checked[0]
        if sealing.split(state)[1] is not None:
            raise ValueError("its seal does not match: edited, or written without the audit key")
        if not self.accept_unsealed:
            raise ValueError("it carries no seal: it was not written by this ledger")
        return state

    def to_domain_event(self, stored_event: StoredEvent) -> LedgerEvent:
        try:
            body = self.unseal(stored_event)
        except ValueError as error:
            raise _decoding_error(stored_event, error) from error
        return self.decode(stored_event, body)

    def decode(self, stored_event: StoredEvent, body: bytes) -> LedgerEvent:
        """The event from a body whose seal was already checked (the projector's walker does)."""
        topic = stored_event.topic
        try:
            if not is_ledger_topic(topic):
                raise LookupError(f"no ledger event is registered for topic {topic!r}")
            cls: type[LedgerEvent] = resolve_topic(topic)
            stored = body
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
            raise _decoding_error(stored_event, error) from error


def _decoding_error(stored_event: StoredEvent, error: Exception) -> EventDecodingError:
    return EventDecodingError(
        f"stored event {stored_event.topic!r} of {stored_event.originator_id}"
        f" v{stored_event.originator_version} cannot be read: {error}",
        topic=stored_event.topic,
        originator_id=stored_event.originator_id,
        version=stored_event.originator_version,
    )

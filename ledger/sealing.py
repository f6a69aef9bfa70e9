"""R18: the seal on every stored event, and the hash chain that links the seals in log order.

This module is the whole algorithm an auditor re-implements (docs/audit.md
states it in prose); it touches no database, so the ledger, the projector,
``verify`` and the offline ``verify_export`` all use the same few functions.

Seal
    ``mac = HMAC-SHA256(audit_key, b"ledger-event-v1" 0x1F originator_id 0x1F
    originator_version 0x1F topic 0x1F || body)`` where ``body`` is the
    event's stored bytes without the seal, and the ids are their canonical
    text (UUID as ``8-4-4-4-12`` lower-case hex, version in decimal). The
    stored state is ``body || 0x1E || b"seal:v1:" || hex(mac)``: the seal
    travels inside the row, so it is written in the same INSERT as the event
    and no other table has to agree with it.

Chain
    ``link_0 = GENESIS``; for a sealed event at position ``p``
    ``link_p = SHA-256(bytes(link_prev) || f"{p}" 0x1F originator_id 0x1F
    originator_version 0x1F topic 0x1F hex(mac) 0x1F || body)``: the chain
    links the MACs in log order and commits to every stored byte, so a digest
    proves the content of the history up to it even to someone without the key.
    Events stored before sealing existed (a pre-v2 store) are linked as the
    first release linked them, over the whole row (see `legacy_link`), so
    digests taken before the upgrade still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ledger.digests import leaf_data
from ledger.merkle import Frontier, leaf_hash

__all__ = [
    "GENESIS",
    "LEGACY_SEAL_TOPIC",
    "ChainWalker",
    "Step",
    "Trust",
    "check",
    "SEAL_LENGTH",
    "SEAL_MARKER",
    "StoredRow",
    "leaf_of",
    "legacy_link",
    "mac_for",
    "seal",
    "sealed_link",
    "split",
]

GENESIS = hashlib.sha256(b"ledger audit chain v1").hexdigest()
SEAL_MARKER = b"\x1eseal:v1:"
_MAC_HEX = 64
SEAL_LENGTH = len(SEAL_MARKER) + _MAC_HEX
_MAC_PREFIX = b"ledger-event-v1\x1f"


class StoredRow(Protocol):
    """The stored fields of an event row (an eventsourcing Notification has them all)."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


def _canonical_id(originator_id: UUID | str) -> str:
    return str(originator_id) if isinstance(originator_id, UUID) else str(UUID(originator_id))


def _fields(row: StoredRow) -> str:
    """``originator_id 0x1F originator_version 0x1F topic 0x1F``: what the MAC and link cover."""
    return f"{_canonical_id(row.originator_id)}\x1f{row.originator_version}\x1f{row.topic}\x1f"


def _leaf_fields(row: StoredRow) -> str:
    try:
        return _fields(row)
    except ValueError:  # a pre-sealing row whose originator id is not a UUID: as stored
        return f"{row.originator_id}\x1f{row.originator_version}\x1f{row.topic}\x1f"


def leaf_of(row: StoredRow, mac: str | None, body: bytes) -> bytes:
    """The Merkle leaf hash of a stored row (`ledger.digests.leaf_data`)."""
    return leaf_hash(leaf_data(f"{row.id}\x1f{_leaf_fields(row)}{mac or ''}\x1f", body))


def mac_for(
    key: bytes, originator_id: UUID | str, originator_version: int, topic: str, body: bytes
) -> str:
    """The hex HMAC-SHA256 that seals one event's stored bytes to its stream, version and topic."""
    header = f"{_canonical_id(originator_id)}\x1f{originator_version}\x1f{topic}\x1f".encode()
    return hmac.digest(key, _MAC_PREFIX + header + body, "sha256").hex()


def seal(
    key: bytes, originator_id: UUID | str, originator_version: int, topic: str, body: bytes
) -> bytes:
    """The state to store: the body with its seal appended."""
    mac = mac_for(key, originator_id, originator_version, topic, body)
    return body + SEAL_MARKER + mac.encode()


def split(state: bytes) -> tuple[bytes, str | None]:
    """``(body, mac)`` of a stored state; ``mac`` is None when the state carries no seal."""
    if len(state) >= SEAL_LENGTH and state[-SEAL_LENGTH:-_MAC_HEX] == SEAL_MARKER:
        mac = state[-_MAC_HEX:]
        try:
            return state[:-SEAL_LENGTH], mac.decode("ascii")
        except UnicodeDecodeError:
            return state, None
    return state, None


def check(
    key: bytes, originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> tuple[bytes, str] | None:
    """``(body, mac)`` when the state carries a seal made with ``key`` for these fields."""
    body, mac = split(state)
    if mac is None:
        return None
    try:
        expected = mac_for(key, originator_id, originator_version, topic, body)
    except ValueError:  # an originator id that is not a UUID
        return None
    return (body, mac) if hmac.compare_digest(expected, mac) else None


def sealed_link(previous: str, row: StoredRow, mac: str, body: bytes) -> str:
    """The link of a sealed row (see the module docstring)."""
    header = (
        f"{row.id}\x1f{_canonical_id(row.originator_id)}\x1f{row.originator_version}"
        f"\x1f{row.topic}\x1f{mac}\x1f"
    )
    digest = hashlib.sha256(bytes.fromhex(previous))
    digest.update(header.encode())
    digest.update(body)
    return digest.hexdigest()


def legacy_link(previous: str, row: StoredRow) -> str:
    """The first release's link over a whole row: kept for events stored before sealing."""
    digest = hashlib.sha256(bytes.fromhex(previous))
    fields = (row.id, row.originator_id, row.originator_version, row.topic, "")
    digest.update("\x1f".join(str(field) for field in fields).encode())
    state = row.state
    # A hand-edited row can come back as text; hash what is there rather than fail.
    digest.update(state.encode() if isinstance(state, str) else bytes(state))
    return digest.hexdigest()


# -- walking the log: the same rules for the projector, verify and an offline export ----------

#: The stable topic of the record that seals a pre-sealing history (`ledger.aggregates.AuditSeal`).
LEGACY_SEAL_TOPIC = "ledger:AuditSeal.LegacySealed.v1"


@dataclass(frozen=True, slots=True)
class Step:
    """One row walked: its chain hash, its MAC (None: unsealed) and why it fails, if it does."""

    position: int
    link: str
    mac: str | None
    body: bytes
    problem: str | None = None
    #: The event's leaf in the Merkle tree (-1 when the walker keeps no tree) and the hex
    #: hashes of that leaf and of every node it completes, from level 0 up.
    leaf_index: int = -1
    nodes: str = ""


class ChainWalker:
    """Checks rows in log order and links them; never links a row it has not checked.

    ``key`` None checks everything but the MACs (an auditor without the key).
    ``legacy_through`` is the last position of a pre-sealing history when it is
    already known (the projector reads it from the store's `AuditSeal`); None
    lets the walker find it in the log itself, as ``verify`` and an offline
    export check do: unsealed rows are allowed only as a prefix of the log,
    and only when the first sealed row after them is the `AuditSeal` record
    that names exactly that prefix and its chain hash.
    """

    def __init__(
        self,
        key: bytes | None,
        *,
        head: str = GENESIS,
        position: int = 0,
        legacy_through: int | None = None,
        legacy_chain_head: str | None = None,
        tree: Frontier | None = None,
    ) -> None:
        self.key = key
        #: The Merkle tree's frontier, grown by every row that passes (None: no tree kept).
        self.tree = tree
        self.head = head
        self.position = position
        self.legacy_through = legacy_through
        self.legacy_chain_head = legacy_chain_head
        self._prefix_start: int | None = None
        self._sealed_seen = legacy_through is not None and position > legacy_through

    def step(self, row: StoredRow) -> Step:
        """Check and link the next row; a row with a problem is not linked (the head stays)."""
        position = row.id
        state = bytes(row.state) if not isinstance(row.state, str) else row.state.encode()
        body, mac = split(state)
        header = ""
        if mac is None:
            problem = self._unsealed(position)
            link = legacy_link(self.head, row)
            if problem is None and self.tree is not None:
                header = f"{position}\x1f{_leaf_fields(row)}\x1f"
        else:
            try:
                fields = _fields(row)
            except ValueError:  # an originator id that is not a UUID
                link = legacy_link(self.head, row)
                problem = f"position {position} has a malformed originator id"
            else:
                # The MAC and the link share the row's header: built once, hashed twice.
                problem = self._sealed(row, position, fields, body, mac)
                header = f"{position}\x1f{fields}{mac}\x1f"
                link = hashlib.sha256(bytes.fromhex(self.head) + header.encode() + body).hexdigest()
        if problem is not None:
            return Step(position, link, mac, body, problem)
        self.head, self.position = link, position
        tree = self.tree
        if tree is None:
            return Step(position, link, mac, body)
        index = tree.size
        completed = tree.append(leaf_hash(leaf_data(header, body)))  # = leaf_of(row, mac, body)
        return Step(position, link, mac, body, None, index, b"".join(completed).hex())

    def finish(self) -> str | None:
        """A problem left at the end of the log (an unsealed prefix nothing sealed), or None."""
        if self._prefix_start is not None and self.legacy_through is None:
            return _no_seal(self._prefix_start)
        return None

    @property
    def first_unconfirmed(self) -> int | None:
        return self._prefix_start if self.legacy_through is None else None

    def _unsealed(self, position: int) -> str | None:
        if self.legacy_through is not None:
            return None if position <= self.legacy_through else _no_seal(position)
        if self._sealed_seen:
            return _no_seal(position)
        if self._prefix_start is None:
            self._prefix_start = position
        return None

    def _sealed(
        self, row: StoredRow, position: int, fields: str, body: bytes, mac: str
    ) -> str | None:
        if self.key is not None and not hmac.compare_digest(
            hmac.digest(self.key, _MAC_PREFIX + fields.encode() + body, "sha256").hex(), mac
        ):
            return (
                f"the seal of position {position} does not match:"
                " edited, or written without the audit key"
            )
        pending = self._prefix_start is not None and self.legacy_through is None
        self._sealed_seen = True
        if row.topic == LEGACY_SEAL_TOPIC:
            try:
                record = json.loads(body)
                through = int(record["legacy_through"])
                chain_head = str(record["legacy_chain_head"])
            except (ValueError, KeyError, TypeError):
                return f"the pre-sealing record at position {position} cannot be read"
            if self.legacy_through is not None and through != self.legacy_through:
                return f"the pre-sealing record at position {position} names another history"
            if pending and through != self.position:
                return _no_seal(self._prefix_start or position)
            if chain_head != self.head:
                return (
                    f"the history before sealing (positions up to {through}) was edited:"
                    f" its chain no longer ends in the hash sealed at position {position}"
                )
            self.legacy_through, self.legacy_chain_head = through, chain_head
            return None
        if pending:
            return _no_seal(self._prefix_start or position)
        return None


def _no_seal(position: int) -> str:
    return f"position {position} carries no seal: it was not written by the ledger"


@dataclass(frozen=True, slots=True)
class Trust:
    """What a store's rows are checked against: the audit key and any pre-sealing history."""

    key: bytes | None
    legacy_through: int = 0
    legacy_chain_head: str | None = None

    def walker(
        self, head: str = GENESIS, position: int = 0, tree: Frontier | None = None
    ) -> ChainWalker:
        return ChainWalker(
            self.key,
            head=head,
            position=position,
            legacy_through=self.legacy_through,
            legacy_chain_head=self.legacy_chain_head,
            tree=tree,
        )

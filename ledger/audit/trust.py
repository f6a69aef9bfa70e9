"""R18 / R18 v2 (d): tamper evidence on one store: signed digests, the published digests,
inclusion and consistency proofs, and ``verify`` (events, tree, digests, key table, views).

A part of `ledger.audit.Audit`, which sets the attributes it reads.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent

from ledger import _validate
from ledger.aggregates import Licence, Webhook
from ledger.audit.chain import AuditDigest, TreeRow, Verification, parse_digest, verify_rows
from ledger.audit.proofs import AuditProof, ProofEvent
from ledger.audit.replay import compare_with_replay
from ledger.digests import load_public_key, public_key_pem, sign_digest
from ledger.errors import InvalidInput, LedgerError, OrderNotFound, ProjectionError
from ledger.eventstore import EventStoreApplication
from ledger.faults import guarded
from ledger.keys import KeyVault
from ledger.mapper import PydanticMapper
from ledger.merkle import Frontier, Lookup, consistency_path, inclusion_path
from ledger.projections import audit_tree
from ledger.projections.replay import Progress, notifications
from ledger.projections.updater import ViewUpdater
from ledger.projections.views import LedgerViews
from ledger.sealing import split

__all__ = ["TamperEvidence"]

_LINK_PAGE = 5000


class TamperEvidence:
    _events: EventStoreApplication
    _views: LedgerViews
    _updater: ViewUpdater
    _prepare: Callable[[], None]
    _vault: KeyVault | None

    @guarded
    def key(self) -> str:
        """The key every event is sealed with, as hex (R18).

        Hand it to whoever checks exports offline (`verify_export(..., audit_key=)`,
        ``ledger audit verify-export --audit-key``). Whoever holds it can make
        seals, so keep it like a password, apart from the database.
        """
        key = self._updater.trust.key
        assert key is not None, "every Ledger seals its events"
        return key.hex()

    @guarded
    def public_key(self) -> str:
        """The public half of the key that signs digests (PEM): all an auditor needs to check
        digests, proofs and exports (R18 v2). It cannot make a seal or a signature."""
        return public_key_pem(self._audit_key())

    def _audit_key(self) -> bytes:
        key = self._updater.trust.key
        assert key is not None, "every Ledger seals its events"
        return key

    @guarded
    def digest(self) -> AuditDigest:
        """The history now, signed: chain head, Merkle tree size and root (position 0 when empty).

        Every event it covers was checked (seal and decoding) before it was
        linked. Raises `ProjectionError` when the views stop at a damaged event.
        """
        return self._signed_head()[0]

    def _signed_head(self) -> tuple[AuditDigest, Frontier]:
        self._prepare()
        failure = self._updater.failure
        if failure is not None:
            raise ProjectionError(failure.position, failure.problem)
        with self._views.read_snapshot() as snapshot:
            position, chain_hash = snapshot.chain_head()
            at, tree = audit_tree.frontier_at(snapshot.query)
        if at != position:
            raise ProjectionError(position, f"the audit tree stops at position {at}")
        root = tree.root().hex()
        signed_at = int(time.time())
        signature = sign_digest(self._audit_key(), position, chain_hash, tree.size, root, signed_at)
        return AuditDigest(position, chain_hash, tree.size, root, signed_at, signature), tree

    @guarded
    def digests(self, *, after: int = 0, limit: int | None = None) -> list[AuditDigest]:
        """The digests the ledger signed and stored as it went (at least every
        `DIGEST_EVERY_EVENTS` events or `DIGEST_EVERY_SECONDS` seconds), oldest first;
        ``after`` is a tree size. Copy them somewhere the database cannot reach."""
        after = _validate.integer("after", after, minimum=0)
        wanted = None if limit is None else _validate.integer("limit", limit, minimum=1)
        self._prepare()
        return list(itertools.islice(self._published(after), wanted))

    def _published(self, after: int = 0) -> Iterator[AuditDigest]:
        while True:
            rows = audit_tree.digest_rows(self._views.query, after, _LINK_PAGE)
            for row in rows:
                yield AuditDigest(
                    int(row["position"]),
                    str(row["chain"]),
                    int(row["tree_size"]),
                    str(row["root"]),
                    int(row["signed_at"]),
                    str(row["signature"]),
                )
            if len(rows) < _LINK_PAGE:
                return
            after = int(rows[-1]["tree_size"])

    @guarded
    def prove(self, order_id: Any) -> AuditProof:
        """An inclusion proof of the order's events (and its licence's) against the current
        signed digest; `ledger.audit.verify_proof` checks it offline."""
        order = _validate.uuid("order_id", order_id)
        digest, tree = self._signed_head()
        size = tree.size
        stored: list[tuple[StoredEvent, bytes, str | None]] = []
        for originator in (order, Licence.id_for(order)):
            for event in self._events.recorder.select_events(originator):
                body, mac = split(bytes(event.state))
                stored.append((event, body, mac))
        macs = [mac for _, _, mac in stored if mac is not None]
        if not macs:
            raise OrderNotFound(f"order {order} not found")
        places = {
            str(row["mac"]): (int(row["leaf_index"]), int(row["position"]))
            for start in range(0, len(macs), 500)
            for row in self._views.query(
                "SELECT leaf_index, position, mac FROM {ledger_audit_tree}"
                f" WHERE mac IN ({', '.join('?' * len(macs[start : start + 500]))})",
                macs[start : start + 500],
            )
        }
        proved: list[ProofEvent] = []
        for event, body, mac in stored:
            place = places.get(mac or "")
            if place is None or place[0] >= size:
                continue  # recorded after the digest: the next proof covers it
            index, position = place
            path = audit_tree.prefetched(
                self._views.query, functools.partial(_path_of, index, size)
            )
            proved.append(
                ProofEvent(
                    index,
                    position,
                    str(event.originator_id),
                    event.originator_version,
                    event.topic,
                    mac,
                    hashlib.sha256(body).hexdigest(),
                    tuple(node.hex() for node in path),
                )
            )
        proved.sort(key=lambda item: item.leaf_index)
        return AuditProof("inclusion", digest, order_id=str(order), events=tuple(proved))

    @guarded
    def prove_consistency(self, old_digest: AuditDigest | str) -> AuditProof:
        """A proof that the history of a digest signed earlier is a prefix of today's."""
        old = parse_digest(old_digest)
        if old is None or not old.signed:
            raise InvalidInput("old_digest", "must be a signed digest (ledger audit digests)")
        if not old.signed_by(load_public_key(self.public_key())):
            raise InvalidInput("old_digest", "is not signed by this store's key")
        digest, tree = self._signed_head()
        assert old.tree_size is not None
        if old.tree_size > tree.size:
            raise InvalidInput(
                "old_digest",
                f"states {old.tree_size} events; this store holds {tree.size}: it was truncated,"
                " or the digest is another store's",
            )
        size, old_size = tree.size, old.tree_size
        path = (
            []
            if old_size == 0
            else audit_tree.prefetched(
                self._views.query, lambda lookup: consistency_path(old_size, size, lookup)
            )
        )
        return AuditProof("consistency", digest, old=old, path=tuple(node.hex() for node in path))

    @guarded
    def verify(
        self,
        digest: AuditDigest | str | None = None,
        *,
        progress: Progress | None = None,
        views: bool = True,
    ) -> Verification:
        """Check every stored event's seal and the chain, against a digest kept elsewhere.

        Streams the log and the stored chain links side by side and stops at the
        first bad position; it never applies or links anything itself. Without
        a digest it finds rows written without the key (forged, inserted,
        appended, edited) and rows deleted, moved or truncated behind the views'
        chain links; with a digest it also finds a history rewritten together
        with those links. Every stored tree row must be what the history gives
        (keyed: a tree or chain recomputed without the key fails), and every digest
        the ledger published must lie on the history. Then (unless ``views=False``)
        the key table must open every licence and webhook secret, and every view row
        must equal what a replay of the history gives (``view`` names the first).
        """
        _validate.progress("progress", progress)
        wanted = parse_digest(digest)
        public = load_public_key(self.public_key())
        result = verify_rows(
            self._rows(),
            self._updater.trust.key,
            stored_links=self._stored_links(),
            stored_tree=self._stored_tree(),
            published=self._published(),
            digest=wanted,
            public_key=public,
            progress=progress,
            total=self._events.recorder.max_notification_id() or 0,
        )
        if not result.ok or not views:
            return result
        problem = self._key_table_problem()
        if problem is not None:
            return dataclasses.replace(
                result,
                ok=False,
                broken_at=problem[0],
                problem=problem[1],
                view="ledger_wrapped_keys",
            )
        self._prepare()
        report = compare_with_replay(self._events, self._views, self._updater.trust)
        if not report.matches:
            first = report.differences[0]
            view = first.split(":", 1)[0] if first.startswith("ledger_") else None
            return dataclasses.replace(
                result,
                ok=False,
                problem=f"a view differs from what the history gives: {first}",
                view=view,
            )
        return result

    def _key_table_problem(self) -> tuple[int, str] | None:
        """(position, why) of the first licence or webhook secret the key table cannot open."""
        if self._vault is None:
            return None
        mapper = self._events.mapper
        assert isinstance(mapper, PydanticMapper)
        topics = [Licence.Issued.TOPIC, Webhook.Added.TOPIC]
        for batch in notifications(self._events, batch=1000, topics=topics):
            for row in batch:
                body, _ = split(bytes(row.state))
                try:
                    event = mapper.decode(row, body)
                except LedgerError:
                    continue  # the event check above already named it
                if isinstance(event, Licence.Issued):
                    problem = self._vault.stored_key_problem(
                        event.order_id, event.key_ciphertext, event.sealed_under
                    )
                elif isinstance(event, Webhook.Added):
                    problem = self._vault.stored_key_problem(
                        event.originator_id, event.secret_ciphertext
                    )
                else:
                    continue
                if problem is not None:
                    return row.id, f"the key table does not open position {row.id}: {problem}"
        return None

    def _stored_tree(self) -> Iterator[TreeRow]:
        after = -1
        while True:
            rows = self._views.query(
                "SELECT leaf_index, position, mac, nodes, seal FROM {ledger_audit_tree}"
                f" WHERE leaf_index > ? ORDER BY leaf_index LIMIT {_LINK_PAGE}",
                (after,),
            )
            for row in rows:
                yield TreeRow(
                    int(row["leaf_index"]),
                    int(row["position"]),
                    None if row["mac"] is None else str(row["mac"]),
                    str(row["nodes"]),
                    str(row["seal"]),
                )
            if len(rows) < _LINK_PAGE:
                return
            after = int(rows[-1]["leaf_index"])

    def _rows(self) -> Iterator[Notification]:
        for batch in notifications(self._events, batch=5000):
            yield from batch

    def _stored_links(self) -> Iterator[tuple[int, str]]:
        position = 0
        while True:
            rows = self._views.query(
                "SELECT position, hash FROM {ledger_audit_chain} WHERE position > ?"
                f" ORDER BY position LIMIT {_LINK_PAGE}",
                (position,),
            )
            for row in rows:
                yield int(row["position"]), str(row["hash"])
            if len(rows) < _LINK_PAGE:
                return
            position = int(rows[-1]["position"])


def _path_of(index: int, size: int, lookup: Lookup) -> list[bytes]:
    return inclusion_path(index, size, lookup)

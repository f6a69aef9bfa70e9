"""R18 v2: the Merkle tree's stored rows and the published digests, written with the views.

One row per applied event (``ledger_audit_tree``), in the same transaction as
its chain link: its leaf index, position, MAC, the hex hashes of its leaf and of
every node it completes (level 0 up), and a keyed seal over all of that and the
chain link (`ledger.digests.tree_seal`). The node of level ``h`` and index ``j``
is therefore in the row of leaf ``(j + 1) * 2**h - 1``, at offset ``h``. The MAC
is unique: an event deleted and stored again further on (same seal, new
position) stops the views instead of being applied twice.

``ledger_audit_digests`` holds the digests the projector signed as it went (at
least every `DIGEST_EVERY_EVENTS` events or `DIGEST_EVERY_SECONDS` seconds).
It is not a view: a rebuild leaves it alone, so what was published stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ledger.digests import tree_seal
from ledger.merkle import Frontier, Lookup
from ledger.projections.sql import Query, Row, Statement
from ledger.sealing import Step

__all__ = [
    "DDL",
    "DIGEST_EVERY_EVENTS",
    "DIGEST_EVERY_SECONDS",
    "frontier_at",
    "insert_digest",
    "insert_node_row",
    "prefetched",
]

T = TypeVar("T")

DIGEST_EVERY_EVENTS = 1000
DIGEST_EVERY_SECONDS = 60

DDL = (
    "CREATE TABLE IF NOT EXISTS {ledger_audit_tree} ("
    " leaf_index BIGINT PRIMARY KEY, position BIGINT NOT NULL, mac TEXT UNIQUE,"
    " nodes TEXT NOT NULL, seal TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {ledger_audit_digests} ("
    " tree_size BIGINT PRIMARY KEY, position BIGINT NOT NULL, chain TEXT NOT NULL,"
    " root TEXT NOT NULL, signed_at BIGINT NOT NULL, signature TEXT NOT NULL)",
)

LAST_ROW = "SELECT leaf_index, position FROM {ledger_audit_tree} ORDER BY leaf_index DESC LIMIT 1"
LAST_DIGEST = (
    "SELECT tree_size, signed_at FROM {ledger_audit_digests} ORDER BY tree_size DESC LIMIT 1"
)

_HASH_HEX = 64


def insert_node_row(
    leaf_index: int, position: int, mac: str | None, nodes: str, seal: str
) -> Statement:
    return (
        "INSERT INTO {ledger_audit_tree} VALUES (?, ?, ?, ?, ?)",
        (leaf_index, position, mac, nodes, seal),
    )


def tree_row(key: bytes | None, position: int, step: Step) -> Statement:
    """The stored row of one checked step, sealed with ``key`` (unsealed when None)."""
    seal = "" if key is None else tree_seal(key, step.leaf_index, position, step.link, step.nodes)
    return insert_node_row(step.leaf_index, position, step.mac, step.nodes, seal)


def insert_digest(
    size: int, position: int, chain: str, root: str, signed_at: int, signature: str
) -> Statement:
    return (
        "INSERT INTO {ledger_audit_digests} VALUES (?, ?, ?, ?, ?, ?)",
        (size, position, chain, root, signed_at, signature),
    )


def holder(level: int, index: int) -> int:
    """The leaf whose row stores node (level, index)."""
    return ((index + 1) << level) - 1


def fetch_nodes(query: Query, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes asked for, in as few reads as the database allows."""
    by_row: dict[int, list[tuple[int, int]]] = {}
    for level, index in wanted:
        by_row.setdefault(holder(level, index), []).append((level, index))
    found: dict[tuple[int, int], bytes] = {}
    rows_wanted = sorted(by_row)
    for start in range(0, len(rows_wanted), 500):
        chunk = rows_wanted[start : start + 500]
        rows = query(
            "SELECT leaf_index, nodes FROM {ledger_audit_tree}"
            f" WHERE leaf_index IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            nodes = str(row["nodes"])
            for level, index in by_row[int(row["leaf_index"])]:
                text = nodes[level * _HASH_HEX : (level + 1) * _HASH_HEX]
                if len(text) == _HASH_HEX:
                    found[(level, index)] = bytes.fromhex(text)
    return found


class MissingNode(LookupError):
    """A stored tree row the tree needs is not there (deleted, or the tree is damaged)."""


def prefetched(query: Query, run: Callable[[Lookup], T]) -> T:
    """Run a tree algorithm over stored nodes: once to learn which nodes it reads, then
    with those nodes fetched in one go."""
    wanted: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return bytes(32)

    run(record)
    found = fetch_nodes(query, wanted)

    def lookup(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            raise MissingNode(
                f"the tree's row for leaf {holder(level, index)} is missing"
            ) from None

    return run(lookup)


def frontier_at(query: Query) -> tuple[int, Frontier]:
    """(position of the last leaf, the tree's frontier) as stored; (0, empty) before any."""
    rows = query(LAST_ROW, ())
    if not rows:
        return 0, Frontier()
    size = int(rows[0]["leaf_index"]) + 1
    peaks = Frontier.peak_positions(size)
    found = fetch_nodes(query, peaks)
    try:
        frontier = Frontier(size, [found[peak] for peak in peaks])
    except KeyError:
        raise MissingNode("a stored tree row the tree's frontier needs is missing") from None
    return int(rows[0]["position"]), frontier


def digest_rows(query: Query, after: int = 0, limit: int = 1000) -> list[Row]:
    return query(
        "SELECT tree_size, position, chain, root, signed_at, signature FROM"
        f" {{ledger_audit_digests}} WHERE tree_size > ? ORDER BY tree_size LIMIT {int(limit)}",
        (after,),
    )

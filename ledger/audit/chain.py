"""R18d: the digest, and verification of a stored log against seals, chain links and a digest.

`verify_rows` is one streaming pass shared by the live ``verify`` and the
offline `ledger.audit.export.verify_export`: each row is checked by the
`ledger.sealing.ChainWalker` (its seal, and that unsealed rows are a sealed
pre-sealing history) before it is linked; the links the projector stored
beside the views, when there are any, must match the recomputed ones (a
deleted, moved or replaced row); and the digest, when given, must lie on the
recomputed chain (a history rewritten or truncated behind the database's
back). It stops at the first bad position. Memory: one row and one stored
link at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ledger import _validate
from ledger.errors import InvalidInput
from ledger.sealing import GENESIS, ChainWalker, StoredRow

__all__ = ["AuditDigest", "Verification", "parse_digest", "verify_rows"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AuditDigest:
    """The chain head: keep ``str(digest)`` somewhere the database cannot reach."""

    position: int
    hash: str

    def __post_init__(self) -> None:
        _validate.integer("digest", self.position, minimum=0)
        if not isinstance(self.hash, str) or not re.fullmatch(r"[0-9a-f]{64}", self.hash):
            raise InvalidInput("digest", "hash must be 64 lower-case hex digits")

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> AuditDigest:
        position, _, chain_hash = _validate.text("digest", text).strip().partition(":")
        # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
        if not re.fullmatch(r"[0-9]{1,18}", position) or not re.fullmatch(
            r"[0-9a-f]{64}", chain_hash
        ):
            raise InvalidInput("digest", "must look like '<position>:<64 lower-case hex digits>'")
        return cls(int(position), chain_hash)

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "hash": self.hash, "digest": str(self)}


def parse_digest(digest: object) -> AuditDigest | None:
    if digest is None or isinstance(digest, AuditDigest):
        return digest
    if isinstance(digest, str):
        return AuditDigest.parse(digest)
    raise InvalidInput("digest", "must be an AuditDigest or its string form")


@dataclass(frozen=True)
class Verification:
    """Outcome of a verification; ``broken_at`` is the first position that fails.

    ``macs_checked`` is False when no audit key was given (an offline check
    without the key proves the chain, not who wrote the rows).
    """

    ok: bool
    checked: int
    head: AuditDigest
    broken_at: int | None = None
    problem: str | None = None
    macs_checked: bool = True

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": str(self.head),
            "broken_at": self.broken_at,
            "problem": self.problem,
            "macs_checked": self.macs_checked,
        }


class _Broken(Exception):
    def __init__(self, position: int, problem: str) -> None:
        self.position = position
        self.problem = problem


def verify_rows(
    rows: Iterable[StoredRow],
    key: bytes | None,
    *,
    stored_links: Iterable[tuple[int, str]] = (),
    digest: AuditDigest | None = None,
    claimed_links: bool = False,
    progress: Progress | None = None,
    total: int = 0,
) -> Verification:
    """Check ``rows`` in log order; see the module docstring.

    ``stored_links`` are (position, hash) in position order. With
    ``claimed_links`` each row is a (row, claimed chain hash) pair instead
    (an export states each row's hash) and the two must agree.
    """
    walker = ChainWalker(key)
    links: Iterator[tuple[int, str]] = iter(stored_links)
    pending = next(links, None)
    checked = 0
    digest_seen = digest is None or digest.position == 0
    try:
        for item in rows:
            row, claimed = item if claimed_links else (item, None)  # type: ignore[misc]
            position = row.id
            if position <= walker.position and checked:
                raise _Broken(position, f"position {position} is out of order")
            if not digest_seen and digest is not None and position > digest.position:
                raise _Broken(digest.position, _missing(digest.position))
            if pending is not None and pending[0] < position:
                raise _Broken(pending[0], f"position {pending[0]} was deleted")
            step = walker.step(row)
            if step.problem is not None:
                raise _Broken(position, step.problem)
            if pending is not None and pending[0] == position:
                if pending[1] != step.link:
                    raise _Broken(position, _unlinked(position))
                pending = next(links, None)
            if claimed is not None and claimed != step.link:
                raise _Broken(position, _unlinked(position))
            if digest is not None and position == digest.position:
                digest_seen = True
                if step.link != digest.hash:
                    raise _Broken(position, f"the history up to position {position} was rewritten")
            checked += 1
            if progress is not None and checked % 5000 == 0:
                progress(position, max(total, position))
        if pending is not None:
            raise _Broken(pending[0], f"position {pending[0]} was deleted")
        if not digest_seen and digest is not None:
            raise _Broken(digest.position, _missing(digest.position))
        unsealed = walker.finish()
        if unsealed is not None:
            raise _Broken(walker.first_unconfirmed or walker.position, unsealed)
    except _Broken as broken:
        return Verification(
            ok=False,
            checked=checked,
            head=AuditDigest(walker.position, walker.head),
            broken_at=broken.position,
            problem=broken.problem,
            macs_checked=key is not None,
        )
    if progress is not None:
        progress(walker.position, max(total, walker.position))
    return Verification(
        ok=True,
        checked=checked,
        head=AuditDigest(walker.position, walker.head),
        macs_checked=key is not None,
    )


def _missing(position: int) -> str:
    return f"position {position} of the digest is missing: the history was truncated or cut"


def _unlinked(position: int) -> str:
    return f"position {position} does not link to the chain: moved, replaced or reordered"


EMPTY = AuditDigest(0, GENESIS)

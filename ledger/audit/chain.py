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

import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import _validate
from ledger.digests import digest_message, signature_valid, tree_seal
from ledger.errors import InvalidInput
from ledger.merkle import EMPTY_ROOT, Frontier
from ledger.sealing import GENESIS, ChainWalker, Step, StoredRow

__all__ = ["AuditDigest", "TreeRow", "Verification", "parse_digest", "verify_rows"]

Progress = Callable[[int, int], None]
_HASH = re.compile(r"[0-9a-f]{64}")
_NUMBER = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True, eq=False)
class AuditDigest:
    """The history at one point: keep ``str(digest)`` somewhere the database cannot reach.

    ``position`` and ``hash`` are the hash chain's head (R18). A signed digest (R18 v2)
    also states the Merkle tree's ``tree_size`` and ``root``, when it was signed
    (``signed_at``, Unix seconds) and the Ed25519 ``signature`` (`ledger.digests`);
    its text is ``position:hash:tree_size:root:signed_at:signature``, and an unsigned
    one's is ``position:hash``.
    """

    position: int
    hash: str
    tree_size: int | None = None
    root: str | None = None
    signed_at: int | None = None
    signature: str | None = None

    def __post_init__(self) -> None:
        _validate.integer("digest", self.position, minimum=0)
        if not isinstance(self.hash, str) or not _HASH.fullmatch(self.hash):
            raise InvalidInput("digest", "hash must be 64 lower-case hex digits")
        signed = (self.tree_size, self.root, self.signed_at, self.signature)
        if all(part is None for part in signed):
            return
        if any(part is None for part in signed):
            raise InvalidInput(
                "digest", "a signed digest states its tree size, root, time and signature"
            )
        _validate.integer("digest", self.tree_size, minimum=0)
        _validate.integer("digest", self.signed_at, minimum=0)
        if not isinstance(self.root, str) or not _HASH.fullmatch(self.root):
            raise InvalidInput("digest", "root must be 64 lower-case hex digits")
        if not isinstance(self.signature, str) or not re.fullmatch(
            r"[0-9a-f]{128}", self.signature
        ):
            raise InvalidInput("digest", "signature must be 128 lower-case hex digits")
        if (self.tree_size == 0) != (self.position == 0):
            raise InvalidInput("digest", "an empty tree is the empty history and nothing else")

    def __eq__(self, other: object) -> bool:
        # The same point of the same history: the chain head decides it (the tree's size
        # and root follow from the history; when and whether it was signed do not matter).
        if not isinstance(other, AuditDigest):
            return NotImplemented
        return (self.position, self.hash) == (other.position, other.hash)

    def __hash__(self) -> int:
        return hash((self.position, self.hash))

    @property
    def signed(self) -> bool:
        return self.signature is not None

    def message(self) -> bytes:
        """The bytes the signature covers (`ledger.digests.digest_message`)."""
        assert self.tree_size is not None
        assert self.root is not None
        assert self.signed_at is not None
        return digest_message(self.position, self.hash, self.tree_size, self.root, self.signed_at)

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        return self.signature is not None and signature_valid(
            public_key, self.message(), self.signature
        )

    def __str__(self) -> str:
        if self.signature is None:
            return f"{self.position}:{self.hash}"
        return (
            f"{self.position}:{self.hash}:{self.tree_size}:{self.root}:{self.signed_at}"
            f":{self.signature}"
        )

    @classmethod
    def parse(cls, text: str) -> AuditDigest:
        if not isinstance(text, str):
            raise InvalidInput("digest", f"must be a str, got {type(text).__name__}")
        parts = text.strip()[:400].split(":")
        # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
        if len(parts) == 2 and _NUMBER.fullmatch(parts[0]) and _HASH.fullmatch(parts[1]):
            return cls(int(parts[0]), parts[1])
        if (
            len(parts) == 6
            and _NUMBER.fullmatch(parts[0])
            and _HASH.fullmatch(parts[1])
            and _NUMBER.fullmatch(parts[2])
            and _HASH.fullmatch(parts[3])
            and _NUMBER.fullmatch(parts[4])
            and re.fullmatch(r"[0-9a-f]{128}", parts[5])
        ):
            return cls(int(parts[0]), parts[1], int(parts[2]), parts[3], int(parts[4]), parts[5])
        raise InvalidInput(
            "digest",
            "must look like '<position>:<64 hex digits>' or a signed digest"
            " '<position>:<chain>:<tree size>:<root>:<signed at>:<signature>'",
        )

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"position": self.position, "hash": self.hash}
        if self.signature is not None:
            found |= {
                "tree_size": self.tree_size,
                "root": self.root,
                "signed_at": self.signed_at,
                "signature": self.signature,
            }
        return found | {"digest": str(self)}


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
    without the key proves the chain, not who wrote the rows; a signed digest or
    a signed closing line checked with the public key proves that). ``view`` names
    the view whose row differs from what the history gives, when that is what failed.
    """

    ok: bool
    checked: int
    head: AuditDigest
    broken_at: int | None = None
    problem: str | None = None
    macs_checked: bool = True
    tree_size: int = 0
    root: str = EMPTY_ROOT.hex()
    view: str | None = None
    #: How many digests were checked on the way (published, given, closing).
    digests_checked: int = 0

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
            "tree_size": self.tree_size,
            "root": self.root,
            "view": self.view,
            "digests_checked": self.digests_checked,
        }


@dataclass(frozen=True)
class TreeRow:
    """One stored row of the audit tree (`ledger.projections.audit_tree`)."""

    leaf_index: int
    position: int
    mac: str | None
    nodes: str
    seal: str


class _Broken(Exception):
    def __init__(self, position: int, problem: str) -> None:
        self.position = position
        self.problem = problem


def verify_rows(
    rows: Iterable[StoredRow],
    key: bytes | None,
    *,
    stored_links: Iterable[tuple[int, str]] = (),
    stored_tree: Iterable[TreeRow] = (),
    published: Iterable[AuditDigest] = (),
    digest: AuditDigest | None = None,
    public_key: Ed25519PublicKey | None = None,
    claimed_links: bool = False,
    progress: Progress | None = None,
    total: int = 0,
) -> Verification:
    """Check ``rows`` in log order; see the module docstring.

    ``stored_links`` are (position, hash) in position order and ``stored_tree`` the
    tree's rows in leaf order; ``published`` are signed digests in tree-size order,
    each of which must lie on the recomputed history. A signed ``digest`` must be
    signed by ``public_key`` (the store's, or the one an auditor was given). With
    ``claimed_links`` each row is a (row, claimed chain hash) pair instead (an
    export states each row's hash) and the two must agree.
    """
    check = _Pass(key, stored_links, stored_tree, published, digest, public_key)
    try:
        if digest is not None and digest.signed and public_key is not None:
            if not digest.signed_by(public_key):
                raise _Broken(digest.position, "the digest is not signed by this store's key")
            check.digests_checked += 1
        for item in rows:
            row, claimed = item if claimed_links else (item, None)  # type: ignore[misc]
            check.row(row, claimed)
            if progress is not None and check.checked % 5000 == 0:
                progress(row.id, max(total, row.id))
        check.finish()
    except _Broken as broken:
        return check.result(broken)
    if progress is not None:
        progress(check.walker.position, max(total, check.walker.position))
    return check.result(None)


class _Pass:
    """One streaming pass of `verify_rows`: the walker and the stored sides beside it."""

    def __init__(
        self,
        key: bytes | None,
        stored_links: Iterable[tuple[int, str]],
        stored_tree: Iterable[TreeRow],
        published: Iterable[AuditDigest],
        digest: AuditDigest | None,
        public_key: Ed25519PublicKey | None,
    ) -> None:
        self.key = key
        self.tree = Frontier()
        self.walker = ChainWalker(key, tree=self.tree)
        self._links = iter(stored_links)
        self._link = next(self._links, None)
        self._tree_rows = iter(stored_tree)
        self._tree_row = next(self._tree_rows, None)
        self._digests = iter(published)
        self._due = next(self._digests, None)
        self.digest = digest
        self.public_key = public_key
        self.checked = 0
        self.digests_checked = 0
        self._digest_seen = digest is None or digest.position == 0

    def row(self, row: StoredRow, claimed: str | None) -> None:
        position = row.id
        if position <= self.walker.position and self.checked:
            raise _Broken(position, f"position {position} is out of order")
        digest = self.digest
        if not self._digest_seen and digest is not None and position > digest.position:
            raise _Broken(digest.position, _missing(digest.position))
        for stored in (self._link[0] if self._link else None, self._tree_position()):
            if stored is not None and stored < position:
                raise _Broken(stored, f"position {stored} was deleted")
        step = self.walker.step(row)
        if step.problem is not None:
            raise _Broken(position, step.problem)
        if self._link is not None and self._link[0] == position:
            if self._link[1] != step.link:
                raise _Broken(position, _unlinked(position))
            self._link = next(self._links, None)
        if self._tree_row is not None and self._tree_row.leaf_index <= step.leaf_index:
            if not _tree_row_matches(self._tree_row, step, position, self.key):
                raise _Broken(position, _untrue_tree(position))
            self._tree_row = next(self._tree_rows, None)
        if claimed is not None and claimed != step.link:
            raise _Broken(position, _unlinked(position))
        self._published_digests(position, step.link)
        if digest is not None and position == digest.position:
            self._digest_seen = True
            if step.link != digest.hash or (
                digest.signed and not self._on_history(digest, position, step.link)
            ):
                raise _Broken(position, f"the history up to position {position} was rewritten")
        self.checked += 1

    def _tree_position(self) -> int | None:
        return None if self._tree_row is None else self._tree_row.position

    def _published_digests(self, position: int, link: str) -> None:
        due = self._due
        while due is not None and due.tree_size is not None and due.tree_size <= self.tree.size:
            if not self._on_history(due, position, link):
                raise _Broken(
                    due.position,
                    f"the history up to position {due.position} differs from the digest"
                    f" published at {due.signed_at}: it was rewritten",
                )
            self.digests_checked += 1
            due = self._due = next(self._digests, None)

    def _on_history(self, digest: AuditDigest, position: int, link: str) -> bool:
        """Does a signed digest state exactly this point of the history, and is it signed?"""
        return (
            digest.tree_size == self.tree.size
            and digest.position == position
            and digest.hash == link
            and digest.root == self.tree.root().hex()
            and (self.public_key is None or digest.signed_by(self.public_key))
        )

    def finish(self) -> None:
        for stored in (self._link[0] if self._link else None, self._tree_position()):
            if stored is not None:
                raise _Broken(stored, f"position {stored} was deleted")
        if self._due is not None:
            raise _Broken(self._due.position, _missing(self._due.position))
        if not self._digest_seen and self.digest is not None:
            raise _Broken(self.digest.position, _missing(self.digest.position))
        unsealed = self.walker.finish()
        if unsealed is not None:
            raise _Broken(self.walker.first_unconfirmed or self.walker.position, unsealed)

    def result(self, broken: _Broken | None) -> Verification:
        return Verification(
            ok=broken is None,
            checked=self.checked,
            head=AuditDigest(self.walker.position, self.walker.head),
            broken_at=None if broken is None else broken.position,
            problem=None if broken is None else broken.problem,
            macs_checked=self.key is not None,
            tree_size=self.tree.size,
            root=self.tree.root().hex(),
            digests_checked=self.digests_checked,
        )


def _tree_row_matches(stored: TreeRow, step: Step, position: int, key: bytes | None) -> bool:
    if (stored.leaf_index, stored.position, stored.mac, stored.nodes) != (
        step.leaf_index,
        position,
        step.mac,
        step.nodes,
    ):
        return False
    if key is None:
        return True
    expected = tree_seal(key, step.leaf_index, position, step.link, step.nodes)
    return hmac.compare_digest(expected, stored.seal)


def _untrue_tree(position: int) -> str:
    return (
        f"the audit tree's row for position {position} does not match the history:"
        " edited, or recomputed without the audit key"
    )


def _missing(position: int) -> str:
    return f"position {position} of the digest is missing: the history was truncated or cut"


def _unlinked(position: int) -> str:
    return f"position {position} does not link to the chain: moved, replaced or reordered"


EMPTY = AuditDigest(0, GENESIS)

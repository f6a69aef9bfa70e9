"""R18 v2 (b): inclusion and consistency proofs against a signed digest, checked offline.

A proof is plain JSON (`AuditProof.to_json`): an auditor checks it with the
store's public key alone, in time logarithmic in the history's size
(`verify_proof`; docs/audit.md states the algorithm).

Inclusion: for each event of an order (the order's and its licence's events),
its header fields, the SHA-256 of its stored body, its leaf index and its
RFC 9162 audit path to the signed digest's root. Consistency: the RFC 9162
path that proves the tree of an older signed digest is a prefix of the tree
of the newer one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.audit.chain import AuditDigest
from ledger.digests import leaf_data_of_hash, load_public_key
from ledger.errors import InvalidInput
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion

__all__ = ["AuditProof", "ProofEvent", "ProofVerification", "public_key_from", "verify_proof"]

_HASH = re.compile(r"[0-9a-f]{64}")
#: A path longer than this cannot belong to a tree that fits in 63-bit positions.
_MAX_PATH = 64


@dataclass(frozen=True)
class ProofEvent:
    """One event of an inclusion proof: what its leaf hashes, and its path to the root."""

    leaf_index: int
    position: int
    originator_id: str
    originator_version: int
    topic: str
    mac: str | None
    body_sha256: str
    path: tuple[str, ...]

    def leaf(self) -> bytes:
        header = (
            f"{self.position}\x1f{self.originator_id}\x1f{self.originator_version}"
            f"\x1f{self.topic}\x1f{self.mac or ''}\x1f"
        )
        return leaf_hash(leaf_data_of_hash(header, self.body_sha256))

    def to_dict(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "position": self.position,
            "originator_id": self.originator_id,
            "originator_version": self.originator_version,
            "topic": self.topic,
            "mac": self.mac,
            "body_sha256": self.body_sha256,
            "path": list(self.path),
        }


@dataclass(frozen=True)
class AuditProof:
    """``kind`` "inclusion" (``order_id``, ``events``) or "consistency" (``old``, ``path``)."""

    kind: str
    digest: AuditDigest
    order_id: str | None = None
    events: tuple[ProofEvent, ...] = ()
    old: AuditDigest | None = None
    path: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"format": "ledger-proof", "version": 1, "kind": self.kind}
        found["digest"] = str(self.digest)
        if self.kind == "inclusion":
            found["order_id"] = self.order_id
            found["events"] = [event.to_dict() for event in self.events]
        else:
            found["old"] = str(self.old)
            found["path"] = list(self.path)
        return found

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditProof:
        """Read a proof; `InvalidInput` ("proof") naming what is malformed."""
        try:
            if data.get("format") != "ledger-proof" or data.get("version") != 1:
                raise _Malformed("it is not a ledger proof (format ledger-proof, version 1)")
            kind = data["kind"]
            digest = AuditDigest.parse(data["digest"])
            if kind == "inclusion":
                events = tuple(_event(item) for item in data["events"])
                return cls(kind, digest, order_id=str(data["order_id"]), events=events)
            if kind == "consistency":
                return cls(
                    kind, digest, old=AuditDigest.parse(data["old"]), path=_path(data["path"])
                )
            raise _Malformed(f"unknown kind {kind!r}")
        except InvalidInput as error:
            raise InvalidInput("proof", f"is malformed: {error}") from None
        except (_Malformed, KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidInput("proof", f"is malformed: {error}") from None


class _Malformed(Exception):
    pass


def _path(items: Any) -> tuple[str, ...]:
    if not isinstance(items, list) or len(items) > _MAX_PATH:
        raise _Malformed("a path must be a list of at most 64 hashes")
    for item in items:
        if not isinstance(item, str) or not _HASH.fullmatch(item):
            raise _Malformed("a path holds 64 lower-case hex digits per hash")
    return tuple(items)


def _event(item: Any) -> ProofEvent:
    if not isinstance(item, dict):
        raise _Malformed("an event must be an object")
    mac = item.get("mac")
    if mac is not None and (not isinstance(mac, str) or not _HASH.fullmatch(mac)):
        raise _Malformed("an event's mac must be 64 hex digits or null")
    body = item["body_sha256"]
    if not isinstance(body, str) or not _HASH.fullmatch(body):
        raise _Malformed("an event's body_sha256 must be 64 hex digits")
    numbers = (item["leaf_index"], item["position"], item["originator_version"])
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
        raise _Malformed("an event's leaf_index, position and version are whole numbers")
    return ProofEvent(
        item["leaf_index"],
        item["position"],
        str(item["originator_id"]),
        item["originator_version"],
        str(item["topic"]),
        mac,
        body,
        _path(item["path"]),
    )


@dataclass(frozen=True)
class ProofVerification:
    ok: bool
    kind: str
    problem: str | None = None
    #: Events proved (inclusion), or 0.
    events: int = 0

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "kind": self.kind, "problem": self.problem, "events": self.events}


def public_key_from(public_key: object) -> Ed25519PublicKey:
    """``public_key=``: the PEM text (`Audit.public_key`), 32 raw bytes or 64 hex digits."""
    if isinstance(public_key, Ed25519PublicKey):
        return public_key
    if not isinstance(public_key, str | bytes):
        raise InvalidInput("public_key", "must be the PEM text of an Ed25519 public key")
    try:
        return load_public_key(public_key)
    except (ValueError, TypeError, UnicodeError):
        raise InvalidInput("public_key", "is not an Ed25519 public key (PEM, raw or hex)") from None


def verify_proof(proof: object, *, public_key: object) -> ProofVerification:
    """Check a proof offline with the store's public key; the result says what failed."""
    key = public_key_from(public_key)
    if isinstance(proof, str | bytes):
        try:
            proof = json.loads(proof)
        except (ValueError, UnicodeError):
            raise InvalidInput("proof", "is not JSON") from None
    if isinstance(proof, Mapping):
        proof = AuditProof.from_dict(proof)
    if not isinstance(proof, AuditProof):
        raise InvalidInput("proof", "must be an AuditProof, its dict or its JSON text")
    digest = proof.digest
    if not digest.signed or not digest.signed_by(key):
        return ProofVerification(False, proof.kind, "the digest is not signed by this key")
    assert digest.tree_size is not None
    assert digest.root is not None
    root = bytes.fromhex(digest.root)
    if proof.kind == "consistency":
        return _consistent(proof, key, root)
    if not proof.events:
        return ProofVerification(False, proof.kind, "the proof holds no event")
    for event in proof.events:
        if event.leaf_index >= digest.tree_size or event.position > digest.position:
            return ProofVerification(
                False,
                proof.kind,
                f"position {event.position} lies beyond the digest's history",
            )
        path = [bytes.fromhex(node) for node in event.path]
        if not verify_inclusion(event.leaf(), event.leaf_index, digest.tree_size, path, root):
            return ProofVerification(
                False,
                proof.kind,
                f"the event at position {event.position} is not in the signed history",
            )
    return ProofVerification(True, proof.kind, events=len(proof.events))


def _consistent(proof: AuditProof, key: Ed25519PublicKey, root: bytes) -> ProofVerification:
    old, new = proof.old, proof.digest
    assert old is not None
    assert new.tree_size is not None
    if not old.signed or not old.signed_by(key):
        return ProofVerification(False, proof.kind, "the old digest is not signed by this key")
    assert old.tree_size is not None
    assert old.root is not None
    if old.tree_size > new.tree_size:
        return ProofVerification(
            False, proof.kind, "the old digest states a longer history than the new one"
        )
    path = [bytes.fromhex(node) for node in proof.path]
    if not verify_consistency(old.tree_size, bytes.fromhex(old.root), new.tree_size, root, path):
        return ProofVerification(
            False,
            proof.kind,
            f"the history of the old digest (position {old.position}) is not a prefix of"
            " the new one: it was rewritten",
        )
    return ProofVerification(True, proof.kind)

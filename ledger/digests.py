"""R18 v2: signed digests, checkable by anyone who holds the store's public key.

A digest states the history at one point: the position of its last event, the
hash chain's link there (`ledger.sealing`), the number of events (the Merkle
tree's size) and the tree's root (`ledger.merkle`), and when it was signed.
It is signed with Ed25519; the signing key is derived from the audit key
(``HKDF-SHA256(audit_key, info="ledger audit signing v1")`` as the 32-byte
seed), so it lives as long as the store and needs no storage of its own. The
public half is all an auditor needs: it cannot make a seal or a signature.

Signed message (UTF-8)::

    "ledger-digest-v2" 0x1F position 0x1F chain 0x1F size 0x1F root 0x1F signed_at

with ``chain`` and ``root`` as 64 lower-case hex digits and ``signed_at`` as
whole seconds since the Unix epoch. The tree's stored rows are keyed too
(`tree_seal`), so a tree or chain table recomputed without the key fails.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "digest_message",
    "leaf_data",
    "leaf_data_of_hash",
    "load_public_key",
    "public_key_pem",
    "sign_digest",
    "signature_valid",
    "signing_key",
    "tree_seal",
]

_SIGNING_INFO = b"ledger audit signing v1"
_TREE_PREFIX = b"ledger-tree-v1\x1f"


@lru_cache(maxsize=16)
def signing_key(audit_key: bytes) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=SHA256(), length=32, salt=None, info=_SIGNING_INFO).derive(audit_key)
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_pem(audit_key: bytes) -> str:
    """The public half, as the PEM text ``openssl pkeyutl -verify -pubin`` reads."""
    public = signing_key(audit_key).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(material: str | bytes) -> Ed25519PublicKey:
    """A public key from its PEM text or its 32 raw bytes (or their 64 hex digits).

    Raises ValueError when it is none of those.
    """
    if isinstance(material, str):
        text = material.strip()
        if len(text) == 64:
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
        material = text.encode("ascii")
    if len(material) == 32:
        return Ed25519PublicKey.from_public_bytes(material)
    loaded = serialization.load_pem_public_key(material)
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return loaded


def digest_message(position: int, chain: str, size: int, root: str, signed_at: int) -> bytes:
    return f"ledger-digest-v2\x1f{position}\x1f{chain}\x1f{size}\x1f{root}\x1f{signed_at}".encode()


def sign_digest(
    audit_key: bytes, position: int, chain: str, size: int, root: str, signed_at: int
) -> str:
    """The hex Ed25519 signature of a digest."""
    message = digest_message(position, chain, size, root, signed_at)
    return signing_key(audit_key).sign(message).hex()


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature_hex: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def tree_seal(audit_key: bytes, leaf_index: int, position: int, link: str, nodes: str) -> str:
    """HMAC-SHA256 over one stored tree row, so the stored tree cannot be recomputed."""
    message = f"{leaf_index}\x1f{position}\x1f{link}\x1f{nodes}".encode()
    return hmac.digest(audit_key, _TREE_PREFIX + message, "sha256").hex()


def leaf_data(header: str, body: bytes) -> bytes:
    """What a leaf hashes: ``"ledger-leaf-v1" 0x1F`` + the event's header + hex SHA-256(body).

    ``header`` is ``position 0x1F originator_id 0x1F originator_version 0x1F topic
    0x1F mac 0x1F`` (``mac`` empty for an event stored before sealing).
    """
    return leaf_data_of_hash(header, hashlib.sha256(body).hexdigest())


def leaf_data_of_hash(header: str, body_sha256: str) -> bytes:
    """`leaf_data` from the body's hex SHA-256 (what a proof carries instead of the body)."""
    return b"ledger-leaf-v1\x1f" + header.encode() + body_sha256.encode()

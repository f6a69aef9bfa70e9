"""Licence keys: generated MAKs, sealed with AES-256-GCM before they enter an event (R14).

The order id is the associated data, so a ciphertext copied onto another
order does not decrypt. The data key never leaves this object; its source is
decided in `ledger.stores`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.errors import ConfigurationError

KEY_BYTES = 32
NONCE_BYTES = 12
# Product-key alphabet: no vowels (no accidental words), no 0/O, 1/I, 5/S look-alikes.
MAK_ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
#: HKDF info label of the key that seals events (R18); changing it orphans every seal.
AUDIT_MAC_INFO = b"ledger audit mac v1"


def generate_mak(groups: int = 5, group_length: int = 5) -> str:
    """A fresh multiple-activation key, ``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`` by default."""
    return "-".join(
        "".join(secrets.choice(MAK_ALPHABET) for _ in range(group_length)) for _ in range(groups)
    )


def decode_key(material: str | bytes) -> bytes:
    if isinstance(material, bytes) and len(material) == KEY_BYTES:
        return material
    text = material.decode() if isinstance(material, bytes) else material
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raise ConfigurationError("the secret key is not urlsafe base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(f"the secret key must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def new_key_material() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, or create it owner-only (0600) if it does not exist yet."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return decode_key(path.read_text())
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key_material())
    return decode_key(path.read_text())


class KeyVault:
    """Seals and opens licence keys; signs download links."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._audit_mac_key = HKDF(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=AUDIT_MAC_INFO
        ).derive(key)
        self._link_key = hashlib.sha256(b"ledger-download-link\x00" + key).digest()

    def seal(self, order_id: UUID, licence_key: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, licence_key.encode(), order_id.bytes)
        return base64.b64encode(nonce + sealed).decode()

    def open(self, order_id: UUID, ciphertext: str) -> str:
        raw = base64.b64decode(ciphertext)
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], order_id.bytes).decode()
        except InvalidTag:
            raise ConfigurationError(
                "cannot decrypt the licence key: the store was written with another secret key"
            ) from None

    def audit_mac_key(self) -> bytes:
        """The key that seals stored events (R18): HKDF-SHA256 of the secret key."""
        return self._audit_mac_key

    def sign_link(self, *parts: str) -> str:
        digest = hmac.new(self._link_key, "\x1f".join(parts).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

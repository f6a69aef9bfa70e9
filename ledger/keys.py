"""Licence keys and the keys that protect them (R14): envelope encryption.

* Each order's licence key (a generated MAK) is sealed with AES-256-GCM under
  a random per-order *data key*, with the order id as associated data, so a
  ciphertext copied onto another order does not open. The ciphertext is in
  the order's ``Licence.Issued`` event.
* The data keys live outside the events, in the store's key table, each
  *wrapped* (AES-256-GCM again) under the secret key the store is opened
  with. Rotating the secret key rewraps them; no stored event changes.
* The store records the check value (`key_id`) of its secret key, never the
  key, so a wrong key is refused when the store is opened.
* A random *root key*, wrapped beside the data keys, is the store's own for
  life: the audit MAC key and the download-link key are derived from it, so
  they survive key rotation.
* Licences issued before envelope encryption (``Licence.Issued`` v1) were
  sealed directly under the secret key: they open with it (or with
  ``previous_keys``) until `KeyVault.rewrap` stores that key, wrapped, as the
  store's ``legacy`` key.

See `ledger.keyring` for the table and docs/decisions.md ("Secret keys").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.aggregates.licence import SealedUnder
from ledger.errors import ConfigurationError
from ledger.keyring import Keyring, WrappedKey

__all__ = [
    "KEY_BYTES",
    "KeyVault",
    "LegacySample",
    "SealedKey",
    "SealedUnder",
    "decode_key",
    "generate_mak",
    "key_id",
    "new_key_material",
]

KEY_BYTES = 32
NONCE_BYTES = 12
# Product-key alphabet: no vowels (no accidental words), no 0/O, 1/I, 5/S look-alikes.
MAK_ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
#: (order id, ciphertext) of a licence sealed directly under the store key, if any.
LegacySample = Callable[[], tuple[UUID, str] | None]

_ROOT = "root"
_LEGACY = "legacy"
_CHECK_LABEL = b"ledger key check v1"
_AUDIT_MAC_INFO = b"ledger audit mac v1"
_LINK_INFO = b"ledger download link v1"
# Unwrapped data keys kept in memory, so that viewing a key reads the key table once.
_CACHE_SIZE = 4096


_MAK_LIMIT = 256 - 256 % len(MAK_ALPHABET)
#: byte → its character (``MAK_ALPHABET[byte % 24]``) for the bytes below the limit.
_MAK_TABLE = bytes(
    ord(MAK_ALPHABET[byte % len(MAK_ALPHABET)]) if byte < _MAK_LIMIT else 0 for byte in range(256)
)
#: The bytes rejection sampling refuses (at or above the largest multiple of 24).
_MAK_REJECTED = bytes(range(_MAK_LIMIT, 256))


def generate_mak(groups: int = 5, group_length: int = 5) -> str:
    """A fresh multiple-activation key, ``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`` by default.

    One read of the system's random source for the whole key (not one per
    character): each character is a uniform choice, by rejection sampling of
    random bytes below the largest multiple of the alphabet's size.
    """
    wanted = groups * group_length
    chosen = ""
    while len(chosen) < wanted:
        # Enough bytes that one read almost always suffices (24 of 256 values are rejected).
        # translate drops the rejected bytes and maps each other one to its character.
        raw = os.urandom(wanted + wanted // 4 + 8)
        chosen += raw.translate(_MAK_TABLE, _MAK_REJECTED).decode("ascii")
    chosen = chosen[:wanted]
    starts = range(0, wanted, group_length)
    return "-".join(chosen[start : start + group_length] for start in starts)


def decode_key(material: object, source: str = "secret_key") -> bytes:
    """32 raw bytes, or their urlsafe base64 text (str or ASCII bytes); else `ConfigurationError`.

    ``source`` names where the key came from; the message never holds the key.
    """
    if isinstance(material, bytes | bytearray):
        if len(material) == KEY_BYTES:
            return bytes(material)
        try:
            text = bytes(material).decode("ascii")
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"{source} must be {KEY_BYTES} bytes or their urlsafe base64 text"
            ) from None
    elif isinstance(material, str):
        text = material
    else:
        raise ConfigurationError(
            f"{source} must be {KEY_BYTES} bytes or their urlsafe base64 text,"
            f" got {type(material).__name__}"
        )
    if len(text) > 4 * KEY_BYTES:
        raise ConfigurationError(f"{source} is too long for a {KEY_BYTES}-byte key")
    try:
        # Strict: a character outside the alphabet is an error, not silently skipped.
        raw = base64.b64decode(text.strip().encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        raise ConfigurationError(f"{source} is not urlsafe base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(f"{source} must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def new_key_material() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def key_id(key: bytes) -> str:
    """The check value of a secret key: names it without revealing it (HMAC-SHA256, 128 bits)."""
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).hexdigest()[:32]


def _seal(key: bytes, plaintext: bytes, associated: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, associated)).decode()


def _unseal(key: bytes, sealed: str, associated: bytes) -> bytes | None:
    """The plaintext, or None when ``key`` is not the key (or the bytes are damaged)."""
    try:
        raw = base64.b64decode(sealed, validate=True)
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
    except (InvalidTag, binascii.Error, ValueError):
        return None


def _derive(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(root)


def _wrap_label(name: str) -> bytes:
    # The row's name is the associated data: a wrapped key moved to another row does not open.
    return b"ledger wrapped key v1\x1f" + name.encode()


def _order_key_name(order_id: UUID) -> str:
    return f"order:{order_id}"


class SealedKey(NamedTuple):
    """A licence key sealed under a fresh data key, and that key's row for the key table."""

    ciphertext: str
    row: tuple[str, str, str]  # (name, key_id, wrapped) in ledger_wrapped_keys
    data_key: bytes


class KeyVault:
    """Seals and opens licence keys, keeps the key table, signs download links.

    Built by `KeyVault.unlock`, which checks the secret key against the store.
    """

    def __init__(
        self, keyring: Keyring, secret: bytes, keys: Mapping[str, bytes], legacy: LegacySample
    ) -> None:
        self._keyring = keyring
        self._secret = secret
        self._current = key_id(secret)
        # Every key given to open the store (the secret key and previous_keys), by key id.
        self._keys = dict(keys)
        self._legacy_sample = legacy
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._root = self._unwrap(_ROOT, self._required(_ROOT))
        self._link_key = _derive(self._root, _LINK_INFO)

    # -- opening a store -------------------------------------------------------------------

    @classmethod
    def unlock(
        cls,
        keyring: Keyring,
        secret: bytes,
        previous: Iterable[bytes] = (),
        *,
        legacy: LegacySample = lambda: None,
    ) -> KeyVault:
        """Check ``secret`` (and ``previous``) against the store before anything is written.

        A fresh store records the key's check value and a new root key. A store
        with a check value is opened only when the key it records is among the
        given ones, and every key in its table is wrapped under a given key;
        when ``secret`` is a new key, the store records it as its key from now
        on (rotation). A store older than the check value is checked by opening
        one of its licence keys.
        """
        given = {key_id(key): key for key in (secret, *previous)}
        current = key_id(secret)
        recorded = keyring.recorded_key_id()
        if recorded is None:
            sample = legacy()
            if sample is not None and not any(_opens_legacy(k, sample) for k in given.values()):
                raise ConfigurationError(
                    "the secret key does not open this store's licence keys:"
                    " the store was written with another key"
                )
            root = os.urandom(KEY_BYTES)
            wrapped = WrappedKey(current, _seal(secret, root, _wrap_label(_ROOT)))
            # Whoever initialises first wins; a process with another key is refused below.
            recorded = keyring.initialise(current, root=wrapped)
        if recorded not in given:
            raise ConfigurationError(
                f"the store is sealed under another secret key (key id {recorded});"
                f" the key given has id {current}. Open it with its key, or, to rotate,"
                " with the new key and its key in previous_keys="
            )
        missing = keyring.key_ids_other_than(sorted(given))
        if missing:
            raise ConfigurationError(
                "keys in this store are wrapped under key id(s) "
                f"{', '.join(sorted(missing))}, which were not given: pass them in previous_keys="
            )
        if recorded != current:
            keyring.replace_recorded_key_id(recorded, current)
        return cls(keyring, secret, given, legacy)

    # -- licence keys ----------------------------------------------------------------------

    def seal(self, order_id: UUID, licence_key: str) -> str:
        """Seal a new licence key under the order's data key (created here, wrapped, stored).

        The data key is stored before the caller stores the event that needs it;
        a racing attempt for the same order finds and uses the same data key.
        """
        name = _order_key_name(order_id)
        fresh = WrappedKey(
            self._current, _seal(self._secret, os.urandom(KEY_BYTES), _wrap_label(name))
        )
        data_key = self._unwrap(name, self._keyring.add(name, fresh))
        self._remember(name, data_key)
        return _seal(data_key, licence_key.encode(), order_id.bytes)

    def seal_unstored(self, order_id: UUID, licence_key: str) -> SealedKey:
        """Seal a new licence key under a new data key that the caller stores with the events.

        The caller writes `SealedKey.row` in the same transaction as the events that
        hold `SealedKey.ciphertext` (``EventStoreApplication.save(..., wrapped_keys=[row])``), then
        calls `remember` once that transaction committed: a data key whose events
        never committed is never used to open a key.
        """
        name = _order_key_name(order_id)
        data_key = os.urandom(KEY_BYTES)
        wrapped = _seal(self._secret, data_key, _wrap_label(name))
        return SealedKey(
            ciphertext=_seal(data_key, licence_key.encode(), order_id.bytes),
            row=(name, self._current, wrapped),
            data_key=data_key,
        )

    def remember(self, sealed: SealedKey) -> None:
        """After the events of `seal_unstored` committed: keep the data key for `open`."""
        self._remember(sealed.row[0], sealed.data_key)

    def open(self, order_id: UUID, ciphertext: str, sealed_under: SealedUnder = "data_key") -> str:
        """The licence key; `ConfigurationError` if its key is missing or another key's."""
        if sealed_under == "store_key":
            key = self._legacy_key((order_id, ciphertext))
        else:
            key = self._data_key(order_id)
        plain = _unseal(key, ciphertext, order_id.bytes)
        if plain is None:
            raise ConfigurationError(
                f"the licence key of order {order_id} does not open: its ciphertext or its"
                " data key is damaged"
            )
        return plain.decode()

    def stored_key_problem(
        self, order_id: UUID, ciphertext: str, sealed_under: SealedUnder = "data_key"
    ) -> str | None:
        """Why this ciphertext does not open from the key table as stored now (no cache), or
        None when it does. The plaintext is dropped at once."""
        try:
            if sealed_under == "store_key":
                key = self._legacy_key((order_id, ciphertext))
            else:
                name = _order_key_name(order_id)
                stored = self._keyring.get(name)
                if stored is None:
                    return f"the data key of {order_id} is missing from the key table"
                key = self._unwrap(name, stored)
        except ConfigurationError as error:
            return str(error)
        if _unseal(key, ciphertext, order_id.bytes) is None:
            return f"the key of {order_id} does not open: its ciphertext or its data key is damaged"
        return None

    def _data_key(self, order_id: UUID) -> bytes:
        name = _order_key_name(order_id)
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None:
            return cached
        stored = self._keyring.get(name)
        if stored is None:
            raise ConfigurationError(
                f"the data key of order {order_id} is missing from the key table"
                " (ledger_wrapped_keys): restore the table from the same backup as the events"
            )
        data_key = self._unwrap(name, stored)
        self._remember(name, data_key)
        return data_key

    def _legacy_key(self, sample: tuple[UUID, str]) -> bytes:
        stored = self._keyring.get(_LEGACY)
        if stored is not None:
            return self._unwrap(_LEGACY, stored)
        for key in self._keys.values():
            if _opens_legacy(key, sample):
                return key
        raise ConfigurationError(
            "a licence issued before envelope encryption does not open with the keys given:"
            " pass the store's original secret key in previous_keys="
        )

    def _remember(self, name: str, data_key: bytes) -> None:
        with self._lock:
            self._cache[name] = data_key
            self._cache.move_to_end(name)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)

    # -- wrapping --------------------------------------------------------------------------

    def _required(self, name: str) -> WrappedKey:
        stored = self._keyring.get(name)
        if stored is None:
            raise ConfigurationError(f"the store's {name} key is missing from its key table")
        return stored

    def _unwrap(self, name: str, stored: WrappedKey) -> bytes:
        kek = self._keys.get(stored.key_id)
        if kek is None:
            raise ConfigurationError(
                f"the {name} key is wrapped under key id {stored.key_id}, which was not given:"
                " pass that key in previous_keys="
            )
        plain = _unseal(kek, stored.wrapped, _wrap_label(name))
        if plain is None or len(plain) != KEY_BYTES:
            raise ConfigurationError(f"the {name} key in the key table is damaged")
        return plain

    def rewrap(self) -> int:
        """Move every wrapped key under the current secret key; returns how many moved.

        Stored events are not touched. Licences sealed directly under an old
        secret key (before envelope encryption) get that key stored, wrapped,
        as the ``legacy`` key. Afterwards only the current secret key is needed.
        """
        moved = 0
        sample = self._legacy_sample()
        if (
            sample is not None
            and self._keyring.get(_LEGACY) is None
            and not _opens_legacy(self._secret, sample)
        ):
            legacy = self._legacy_key(sample)
            self._keyring.add(
                _LEGACY,
                WrappedKey(self._current, _seal(self._secret, legacy, _wrap_label(_LEGACY))),
            )
            moved += 1
        while True:
            batch = self._keyring.wrapped_under_other_keys(self._current, limit=500)
            if not batch:
                return moved
            rewrapped = {
                name: WrappedKey(
                    self._current,
                    _seal(self._secret, self._unwrap(name, stored), _wrap_label(name)),
                )
                for name, stored in batch.items()
            }
            moved += self._keyring.replace(batch, rewrapped)

    # -- keys derived from the root key ----------------------------------------------------

    @property
    def key_id(self) -> str:
        """The check value of the secret key the store is open with."""
        return self._current

    def audit_mac_key(self) -> bytes:
        """32 bytes for the audit MAC: HKDF-SHA256 of the store's root key.

        The same for the store's whole life: rotating the secret key rewraps the
        root key, it does not change it.
        """
        return _derive(self._root, _AUDIT_MAC_INFO)

    def sign_link(self, *parts: str) -> str:
        digest = hmac.new(self._link_key, "\x1f".join(parts).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()


def _opens_legacy(key: bytes, sample: tuple[UUID, str]) -> bool:
    order_id, ciphertext = sample
    return _unseal(key, ciphertext, order_id.bytes) is not None

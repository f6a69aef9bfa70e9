"""Where a store's secret key comes from when `Ledger.open` is not given one (R14).

``secret_key=`` → ``$LEDGER_SECRET_KEY`` → a key file: ``<database>.key`` beside
a SQLite file, ``~/.config/ledger/<host>-<port>-<db>-<schema>.key`` for
PostgreSQL. A key file is created only for a store that does not exist yet,
owner-only (0600), and atomically: it is written under a temporary name and
linked into place, so that several processes creating one store at the same
moment all read the one key that won, never a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import time
from pathlib import Path

from ledger import keys
from ledger.errors import ConfigurationError

__all__ = [
    "FRESH_KEY_FILE_SECONDS",
    "SECRET_KEY_ENV",
    "create_key_file",
    "given_key",
    "read_key_file",
    "refuse_if_planted",
]

SECRET_KEY_ENV = "LEDGER_SECRET_KEY"
# A key file found empty or short is re-read a few times: on a file system without
# hard links it is created in place, and its writer may not have finished.
_READ_ATTEMPTS = 20
_READ_PAUSE = 0.05
#: A key file this young, found beside a store not created yet, is another process's
#: that is creating the same store at this moment; an older one was planted (R21).
FRESH_KEY_FILE_SECONDS = 10.0


def given_key(secret_key: object) -> bytes | None:
    """The explicit key, else ``$LEDGER_SECRET_KEY``, else None (use the key file)."""
    if secret_key is not None:
        return keys.decode_key(secret_key, "secret_key")
    from_env = os.environ.get(SECRET_KEY_ENV)
    if from_env:
        return keys.decode_key(from_env, f"${SECRET_KEY_ENV}")
    return None


def read_key_file(path: Path) -> bytes | None:
    """The key in ``path``, or None when there is no such file.

    A key file that its group or others may read is refused (`ConfigurationError`):
    whoever can read it can open every licence key of the store (R14, R21). The
    ledger creates its key files owner-only (0600); a copy restored from a backup
    must be made so again (``chmod 600``).
    """
    _require_owner_only(path)
    for attempt in range(_READ_ATTEMPTS):
        try:
            material = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"cannot read the key file {path}: {error}") from None
        try:
            return keys.decode_key(material, f"the key file {path}")
        except ConfigurationError:
            if attempt == _READ_ATTEMPTS - 1:
                raise
            time.sleep(_READ_PAUSE)
    raise AssertionError("unreachable")


def _require_owner_only(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConfigurationError(f"cannot read the key file {path}: {error}") from None
    if mode & 0o077:
        raise ConfigurationError(
            f"the key file {path} may be read by its group or others (mode"
            f" {stat.S_IMODE(mode):04o}): make it owner-only (chmod 600 {path}), or pass"
            " secret_key="
        )


def refuse_if_planted(path: Path, store: str) -> None:
    """Refuse a key file that was there before its store (`ConfigurationError`).

    Whoever wrote it knows the key every licence key of the new store would be
    sealed under. Called only when ``path`` exists and ``store`` holds nothing yet;
    a key file written in the last `FRESH_KEY_FILE_SECONDS` belongs to a process
    creating the same store right now, and is used.
    """
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConfigurationError(f"cannot read the key file {path}: {error}") from None
    if age > FRESH_KEY_FILE_SECONDS:
        raise ConfigurationError(
            f"the key file {path} exists, but its store ({store}) does not: a key file"
            " made before its store is refused, since whoever wrote it could open every"
            " licence key. Remove it to have a fresh one made, or pass secret_key="
        )


def create_key_file(path: Path) -> bytes:
    """Create ``path`` with a fresh key unless another process just did; the key it holds."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(keys.new_key_material() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                # Atomic, and refuses to replace: the first process to link wins.
                os.link(temporary, path)
            except FileExistsError:
                pass
            except OSError:
                # No hard links here: create in place; readers re-read a short file.
                _create_in_place(path, temporary)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        _sync_directory(path.parent)
    except OSError as error:
        raise ConfigurationError(f"cannot create the key file {path}: {error}") from None
    key = read_key_file(path)
    if key is None:
        raise ConfigurationError(f"the key file {path} disappeared while it was created")
    return key


def _create_in_place(path: Path, source: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(source.read_text(encoding="ascii"))
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(directory: Path) -> None:
    # The key must outlive a crash as surely as the data sealed under it.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""R18 v2 (d): where an export may go: never over the store's own files, and always to a
new file renamed into place (a killed export leaves an earlier file as it was)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from ledger import _validate
from ledger.errors import InvalidInput

__all__ = ["refuse_store_files", "write_then_rename"]


def refuse_store_files(target: object, protected: Iterable[Path]) -> None:
    """R18 v2 (d): `InvalidInput` when an export target is, or links to, a file of the store."""
    if not isinstance(target, str | Path):
        return
    path = Path(target)
    resolved = path.resolve()
    for file in protected:
        if resolved == file.resolve() or (
            path.exists() and file.exists() and os.path.samefile(path, file)
        ):
            raise InvalidInput(
                "target",
                f"{_validate.shown(str(target))} is a file of the store ({file.name}):"
                " an export never writes over the store; nothing was written",
            )


def write_then_rename(path: Path, write: Callable[[IO[str]], int]) -> int:
    # The link itself is replaced, never followed: a symlink target gets a new file.
    handle, name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".part", dir=path.absolute().parent
    )
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            count = write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InvalidInput("target", f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count

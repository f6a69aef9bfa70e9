"""R18c: exports that stream, and the offline check of an event export.

An event export holds, for every stored event in log order, its stored
bytes (the body as text when it is UTF-8, which the ledger's JSON always is,
else base64), its seal's MAC and the chain hash up to it; a header line and a
closing line that counts the rows and states the head (with a MAC over both
when the exporter had the audit key). `verify_export` re-checks all of it
from the file alone. docs/audit.md gives the format and algorithm.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import hmac
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from uuid import UUID

from ledger import _validate
from ledger.audit.chain import AuditDigest, Verification, parse_digest, verify_rows
from ledger.audit.files import refuse_store_files, write_then_rename
from ledger.audit.proofs import public_key_from
from ledger.digests import load_public_key, public_key_pem, sign_digest
from ledger.errors import ConfigurationError, InvalidInput
from ledger.merkle import Frontier
from ledger.sealing import (
    GENESIS,
    SEAL_MARKER,
    ChainWalker,
    StoredRow,
    leaf_of,
    legacy_link,
    sealed_link,
    split,
)

__all__ = [
    "EVENT_COLUMNS",
    "ExportFormat",
    "audit_key_from",
    "csv_event_records",
    "event_records",
    "refuse_store_files",
    "verify_export",
    "write_records",
]

ExportFormat = Literal["jsonl", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv")
FORMAT_NAME = "ledger-events"
FORMAT_VERSION = 1
EVENT_COLUMNS = (
    "position",
    "originator_id",
    "originator_version",
    "topic",
    "body",
    "body_b64",
    "mac",
    "chain_hash",
)
_END_MAC_LABEL = b"ledger-export-end-v1\x1f"
Progress = Callable[[int, int], None]


def _end_mac(key: bytes, count: int, head: str) -> str:
    return hmac.digest(key, _END_MAC_LABEL + f"{count}\x1f{head}".encode(), "sha256").hex()


def event_records(
    rows: Iterable[StoredRow], key: bytes | None, signed_at: int | None = None
) -> Iterator[dict[str, Any]]:
    """Header, one record per row (its hash chained over the rows as stored), closing record.

    With the key, the closing line also carries a digest of the export's history signed
    with the store's signing key (``signed``), which `verify_export` checks with the
    public key alone.
    """
    yield {"format": FORMAT_NAME, "version": FORMAT_VERSION, "genesis": GENESIS}
    head, position, count = GENESIS, 0, 0
    tree = Frontier()
    # The exporter signs only what passes its own seal checks: a store edited behind the
    # ledger's back exports unsigned, which `verify_export` with the public key refuses.
    # While every row passes, the checker's step is the row's link and leaf (one split, one
    # header, one hash of each); after a row fails, the export goes on by itself, chaining
    # the rows as stored into the same tree.
    checker = None if key is None else ChainWalker(key, tree=tree)
    intact = True
    for row in rows:
        step = checker.step(row) if checker is not None and intact else None
        if step is not None and step.problem is None:
            body, mac, head = step.body, step.mac, step.link
        else:
            intact = intact and step is None
            body, mac = split(bytes(row.state))
            head = (
                legacy_link(head, row) if mac is None else _sealed_or_legacy(head, row, mac, body)
            )
            tree.append(leaf_of(row, mac, body))
        position, count = row.id, count + 1
        record: dict[str, Any] = {
            "position": row.id,
            "originator_id": str(row.originator_id),
            "originator_version": row.originator_version,
            "topic": row.topic,
            "mac": mac,
            "chain_hash": head,
        }
        try:
            record["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_b64"] = base64.b64encode(body).decode()
        yield record
    digest = str(AuditDigest(position, head))
    closing: dict[str, Any] = {
        "end": True,
        "count": count,
        "head": digest,
        "mac": None if key is None else _end_mac(key, count, digest),
    }
    if checker is not None and checker.finish() is not None:
        intact = False
    if key is not None and intact:
        when = int(time.time()) if signed_at is None else signed_at
        root = tree.root().hex()
        signature = sign_digest(key, position, head, count, root, when)
        closing["signed"] = str(AuditDigest(position, head, count, root, when, signature))
    yield closing


def csv_event_records(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The CSV form: the column header replaces the header line; the closing line is a row."""
    for record in records:
        if "format" in record:
            continue
        if record.get("end") is True:
            yield {
                "position": "end",
                "originator_version": record["count"],
                "chain_hash": record["head"],
                "mac": record["mac"],
                "body": record.get("signed"),
            }
        else:
            yield record


def _sealed_or_legacy(head: str, row: StoredRow, mac: str, body: bytes) -> str:
    try:
        return sealed_link(head, row, mac, body)
    except ValueError:  # a damaged originator id: the export still shows the row
        return legacy_link(head, row)


def write_records(
    target: str | Path | IO[str],
    format: object,
    columns: Sequence[str],
    records: Iterable[dict[str, Any]],
    protected: Iterable[Path] = (),
) -> int:
    """Write JSON Lines or CSV (with a header) one record at a time; returns how many.

    A file target is written to a new file beside it and renamed into place at the
    end, so an export cut short leaves an earlier file as it was; a target that is a
    file of the store (``protected``) is refused before anything is opened.
    """
    checked = _validate.export_target("target", target)
    _validate.choice("format", format, EXPORT_FORMATS)
    if isinstance(checked, Path):
        refuse_store_files(checked, protected)
        return write_then_rename(
            checked, lambda handle: write_records(handle, format, columns, records)
        )
    writer = csv.DictWriter(checked, fieldnames=list(columns)) if format == "csv" else None
    if writer is not None:
        _to_target(writer.writeheader)
    count = 0
    for record in records:
        if writer is None:
            line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
            _to_target(functools.partial(checked.write, line))
        else:
            row = {k: _cell(v) for k, v in record.items()}
            _to_target(functools.partial(writer.writerow, row))
        count += 1
    return count


def _to_target(write: Callable[[], object]) -> None:
    """A write to the caller's stream; a binary, closed or full one is a bad ``target``."""
    try:
        write()
    except (OSError, TypeError, ValueError) as error:
        raise InvalidInput("target", f"cannot be written: {error}") from None


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if value is True:
        return "true"
    return "" if value is None else value


# -- reading an export back ---------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


class _Unreadable(Exception):
    pass


def _open_records(handle: IO[str]) -> Iterator[dict[str, Any]]:
    first = handle.readline()
    if first.startswith("position,"):
        reader = csv.DictReader(io.StringIO(first))
        columns = reader.fieldnames or []
        for values in csv.reader(handle):
            yield dict(zip(columns, values, strict=False))
        return
    for line in _lines(first, handle):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise _Unreadable("a line is not JSON") from None
        if not isinstance(record, dict):
            raise _Unreadable("a line is not a JSON object")
        yield record


def _lines(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


def _row(record: dict[str, Any]) -> tuple[_Row, str]:
    try:
        position = int(record["position"])
        body_text = record.get("body")
        if body_text not in (None, ""):
            body = str(body_text).encode("utf-8")
        elif record.get("body_b64"):
            body = base64.b64decode(str(record["body_b64"]), validate=True)
        else:
            body = b""
        mac = record.get("mac") or None
        state = body if mac is None else body + SEAL_MARKER + str(mac).encode()
        row = _Row(
            position,
            str(UUID(str(record["originator_id"]))),
            int(record["originator_version"]),
            str(record["topic"]),
            state,
        )
        return row, str(record["chain_hash"])
    except (KeyError, ValueError, TypeError) as error:
        raise _Unreadable(f"a row cannot be read ({error})") from None


def audit_key_from(audit_key: object) -> bytes | None:
    """The audit key as bytes: 32 raw bytes or their (urlsafe) base64 or hex text."""
    if audit_key is None:
        return None
    if isinstance(audit_key, bytes) and len(audit_key) == 32:
        return audit_key
    if isinstance(audit_key, bytes | str):
        try:
            text = audit_key.decode("ascii") if isinstance(audit_key, bytes) else audit_key
        except UnicodeDecodeError:
            raise ConfigurationError(
                "the audit key must be 32 bytes (raw, hex or base64)"
            ) from None
        text = text.strip()
        for decode in (bytes.fromhex, base64.urlsafe_b64decode, base64.b64decode):
            try:
                raw = decode(text)
            except (ValueError, binascii.Error):
                continue
            if len(raw) == 32:
                return bytes(raw)
    raise ConfigurationError("the audit key must be 32 bytes (raw, hex or base64)")


def verify_export(
    path: str | Path | IO[str],
    digest: AuditDigest | str | None = None,
    audit_key: bytes | str | None = None,
    *,
    public_key: object = None,
    progress: Progress | None = None,
) -> Verification:
    """Check an event export offline: seals (with the audit key), chain, Merkle tree, the
    closing line (its signed digest, with the public key) and the digest.

    An auditor needs only ``public_key`` (`Audit.public_key`, which cannot forge): the
    signed closing line then proves every row was exported by the ledger as stored.
    """
    _validate.progress("progress", progress)
    if not isinstance(path, str | Path) and not callable(getattr(path, "readline", None)):
        raise InvalidInput(
            "path", f"must be a file path or a text stream, got {type(path).__name__}"
        )
    wanted = parse_digest(digest)
    key = audit_key_from(audit_key)
    verifier = None if public_key is None else public_key_from(public_key)
    if verifier is None and key is not None:
        verifier = load_public_key(public_key_pem(key))
    if isinstance(path, str | Path):
        file = Path(path)
        if not file.is_file():
            raise InvalidInput("path", f"{file} is not a file")
        with file.open(encoding="utf-8", newline="") as handle:
            return verify_export(handle, wanted, key, public_key=verifier, progress=progress)
    end: dict[str, Any] = {}
    state = {"header": False}

    def rows() -> Iterator[tuple[_Row, str]]:
        for record in _open_records(path):
            if end:
                raise _Unreadable("rows follow the closing line")
            if record.get("format") is not None:
                if record.get("format") != FORMAT_NAME or int(record.get("version", 0)) != 1:
                    raise _Unreadable("this is not a ledger event export (version 1)")
                state["header"] = True
                continue
            if record.get("end") is True:
                end.update(record)
                continue
            if record.get("position") == "end":  # the CSV form of the closing line
                end.update(
                    count=record.get("originator_version"),
                    head=record.get("chain_hash"),
                    mac=record.get("mac"),
                    signed=record.get("body") or None,
                )
                continue
            yield _row(record)

    try:
        result = verify_rows(
            rows(),  # type: ignore[arg-type]  # (row, claimed hash) pairs: claimed_links
            key,
            digest=wanted,
            public_key=verifier,
            claimed_links=True,
            progress=progress,
        )
    except _Unreadable as error:
        return _failed(str(error), key)
    except UnicodeDecodeError:
        return _failed("the export is not UTF-8 text", key)
    if not result.ok:
        return result
    problem = _closing_problem(end, result, key, verifier)
    if problem is not None:
        return Verification(
            ok=False,
            checked=result.checked,
            head=result.head,
            broken_at=result.head.position + 1,
            problem=problem,
            macs_checked=key is not None,
        )
    return result


def _closing_problem(
    end: dict[str, Any], result: Verification, key: bytes | None, verifier: Any
) -> str | None:
    if not end:
        return "the export ends without its closing line: it was truncated"
    try:
        count = int(end.get("count", -1))
    except (TypeError, ValueError):
        return "the closing line cannot be read"
    if count != result.checked or str(end.get("head")) != str(result.head):
        return "the closing line does not match the rows: rows were removed or added"
    if key is not None:
        mac = str(end.get("mac") or "")
        if not hmac.compare_digest(mac, _end_mac(key, count, str(result.head))):
            return "the closing line's MAC does not match: the end of the export was rewritten"
    if verifier is not None:
        try:
            signed = AuditDigest.parse(str(end.get("signed")))
        except InvalidInput:
            return "the closing line carries no signed digest (exported without the key?)"
        if not signed.signed_by(verifier):
            return "the closing line's digest is not signed by this key"
        if (signed.position, signed.hash, signed.tree_size, signed.root) != (
            result.head.position,
            result.head.hash,
            result.tree_size,
            result.root,
        ):
            return "the closing line's signed digest does not match the rows: rows were changed"
    return None


def _failed(problem: str, key: bytes | None) -> Verification:
    return Verification(
        ok=False,
        checked=0,
        head=AuditDigest(0, GENESIS),
        broken_at=0,
        problem=problem,
        macs_checked=key is not None,
    )

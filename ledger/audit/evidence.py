"""R18 v2: the evidence pack, ``ledger audit report``: one directory an auditor can file.

It holds the full event export, the activity log of the period, a printable
self-contained HTML report and ``manifest.json``: the signed digest the pack
was checked against, the verify result, counts per event type, every file's
name, size and SHA-256, the query parameters, who ran it, the ledger version,
and an Ed25519 signature over the manifest (`verify_evidence` checks it and
every file with the public key alone).
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.audit.export import write_records
from ledger.audit.proofs import public_key_from
from ledger.audit.trail import COLUMNS as TRAIL_COLUMNS
from ledger.audit.trail import TrailEntry
from ledger.digests import signature_valid, signing_key
from ledger.errors import InvalidInput

if TYPE_CHECKING:
    from ledger.audit.auditor import Audit

__all__ = ["EvidencePack", "verify_evidence", "write_evidence"]

MANIFEST = "manifest.json"
REPORT = "report.html"
_LABEL = b"ledger-evidence-v1\x1f"


@dataclass(frozen=True)
class EvidencePack:
    directory: Path
    manifest: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.manifest["verification"]["ok"])

    def to_dict(self) -> dict[str, Any]:
        return {"directory": str(self.directory), **self.manifest}


def _canonical(manifest: dict[str, Any]) -> bytes:
    unsigned = {name: value for name, value in manifest.items() if name != "signature"}
    return _LABEL + json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _instants(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """A period as the trail reads it: ``[start, end)``, whole UTC days when given days."""
    first = start if isinstance(start, datetime) else datetime.combine(start, time(), UTC)
    last = end if isinstance(end, datetime) else datetime.combine(end, time(), UTC) + timedelta(1)
    return first, last


def _trail_record(entry: TrailEntry) -> dict[str, Any]:
    record = entry.to_dict()
    record["roles"] = ",".join(entry.roles)
    record["detail"] = json.dumps(entry.detail, sort_keys=True)
    return record


def write_evidence(
    audit: Audit,
    key: bytes,
    out: Path,
    start: date | datetime,
    end: date | datetime,
    ran_by: str | None,
) -> EvidencePack:
    """Write the pack into ``out`` (created; an existing pack there is refused)."""
    if out.exists() and any(out.iterdir()):
        raise InvalidInput("out", f"{out} is not empty: an evidence pack goes into a new directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInput("out", f"cannot create {out}: {error.strerror}") from None
    digest = audit.digest()
    verification = audit.verify(digest)
    events = out / "events.jsonl"
    activity = out / "activity.csv"
    trail = out / "trail.csv"
    audit.export_events(events, actor=ran_by)
    audit.export_activity(activity, start, end, "csv", actor=ran_by)
    # R21: the period's audit reads, admin actions and refusals, this pack's own included.
    rows = (_trail_record(entry) for entry in audit.trail(ran_by, *_instants(start, end)))
    write_records(trail, "csv", TRAIL_COLUMNS, rows)
    counts: Counter[str] = Counter()
    with events.open(encoding="utf-8") as handle:
        for line in handle:
            topic = json.loads(line).get("topic")
            if topic is not None:
                counts[str(topic)] += 1
    files = [
        {"name": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in (events, activity, trail)
    ]
    manifest: dict[str, Any] = {
        "format": "ledger-evidence",
        "version": 1,
        "ledger_version": importlib.metadata.version("ledger"),
        "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "generated_by": ran_by,
        "parameters": {"from": start.isoformat(), "to": end.isoformat()},
        "digest": str(digest),
        "public_key": audit.public_key(),
        "verification": verification.to_dict(),
        "event_counts": dict(sorted(counts.items())),
        "files": files,
    }
    (out / REPORT).write_text(_html(manifest), encoding="utf-8")
    manifest["files"].append(
        {"name": REPORT, "bytes": (out / REPORT).stat().st_size, "sha256": _sha256(out / REPORT)}
    )
    manifest["signature"] = signing_key(key).sign(_canonical(manifest)).hex()
    temporary = out / f".{MANIFEST}.part"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, out / MANIFEST)
    return EvidencePack(out, manifest)


def verify_evidence(directory: str | Path, *, public_key: object) -> list[str]:
    """The problems of an evidence pack (empty when it is intact and signed by that key)."""
    key = public_key_from(public_key)
    folder = Path(directory)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInput("directory", f"has no readable {MANIFEST}: {error}") from None
    problems = []
    if not signature_valid(key, _canonical(manifest), str(manifest.get("signature", ""))):
        problems.append("the manifest is not signed by this key, or was edited")
    for file in manifest.get("files", []):
        path = folder / str(file.get("name"))
        if not path.is_file():
            problems.append(f"{file.get('name')} is missing")
        elif _sha256(path) != file.get("sha256"):
            problems.append(f"{file.get('name')} differs from the manifest")
    return problems


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #111; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { border: 1px solid #bbb; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; width: 14rem; }
code, pre { font: 12px/1.3 ui-monospace, monospace; word-break: break-all; white-space: pre-wrap; }
.ok { color: #05620f; font-weight: bold; } .bad { color: #a00000; font-weight: bold; }
@media print {
  body { margin: 0; max-width: none; } h2 { break-after: avoid; } table { break-inside: avoid; }
}
"""


def _row(name: str, value: str, *, code: bool = False) -> str:
    cell = f"<code>{html.escape(value)}</code>" if code else html.escape(value)
    return f"<tr><th>{html.escape(name)}</th><td>{cell}</td></tr>"


def _html(manifest: dict[str, Any]) -> str:
    verification = manifest["verification"]
    verdict = (
        '<span class="ok">history intact</span>'
        if verification["ok"]
        else f'<span class="bad">TAMPERED: {html.escape(str(verification["problem"]))}</span>'
    )
    counts = "".join(
        f"<tr><td><code>{html.escape(topic)}</code></td><td>{count}</td></tr>"
        for topic, count in manifest["event_counts"].items()
    )
    files = "".join(
        f"<tr><td>{html.escape(f['name'])}</td><td>{f['bytes']}</td>"
        f"<td><code>{f['sha256']}</code></td></tr>"
        for f in manifest["files"]
    )
    parameters = manifest["parameters"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ledger evidence pack</title>
<style>{_STYLE}</style></head><body>
<h1>Ledger evidence pack</h1>
<p>Activity from {html.escape(parameters["from"])} to {html.escape(parameters["to"])},
generated {html.escape(manifest["generated_at"])} by
{html.escape(str(manifest["generated_by"] or "an unnamed operator"))}
(ledger {html.escape(manifest["ledger_version"])}).</p>
<h2>Verification</h2>
<table>
<tr><th>Result</th><td>{verdict}</td></tr>
{_row("Events checked", str(verification["checked"]))}
{_row("Merkle tree size", str(verification["tree_size"]))}
{_row("Published digests checked", str(verification["digests_checked"]))}
</table>
<h2>Signed digest</h2>
<table>
{_row("Digest", manifest["digest"], code=True)}
{_row("Public key", manifest["public_key"], code=True)}
</table>
<h2>Events per type</h2>
<table><tr><th>Event type</th><th>Count</th></tr>{counts}</table>
<h2>Files</h2>
<table><tr><th>File</th><th>Bytes</th><th>SHA-256</th></tr>{files}</table>
<p>Check this pack offline: <code>ledger audit verify-export events.jsonl --public-key
key.pem --digest DIGEST</code>; the manifest's signature covers every file's SHA-256
(the report's own is listed in manifest.json).</p>
</body></html>
"""

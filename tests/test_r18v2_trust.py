"""R18 v2: verifiable without trusting the ledger's key.

Every tamper kind, the earlier ones (edit, delete, swap, truncate, insert,
forged append) and the new ones (a rechained chain table, a moved row, an
edited view row, a deleted wrapped key), is caught by ``verify()`` on SQLite
and PostgreSQL, and by ``verify_export`` holding only the public key and a
digest the ledger published before the tampering. Proofs check offline;
exports never write over the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from typer.main import get_command

from ledger import Ledger
from ledger.audit import AuditDigest, export, verify_export, verify_proof
from ledger.cli.app import app
from ledger.digests import load_public_key
from ledger.errors import InvalidInput, ProjectionError
from ledger.sealing import sealed_link, split
from tests.support import AGENT, ManualClock, tenant_with_order
from tests.test_r18_sealed import READER, SECRET, TAMPERING, RawStore, history

TREE_AND_VIEWS: list[str] = ["ledger_audit_tree", "ledger_audit_digests"]


def _views_sql(raw: RawStore, statement: str) -> list[object]:
    return raw._run(statement, statement)


def rechain_without_the_key(raw: RawStore, head: int) -> int:
    """Delete an event, then recompute the (unkeyed) chain table over what is left."""
    raw.delete_from(5, 5)
    _views_sql(raw, "DELETE FROM ledger_audit_chain WHERE position >= 5")
    link = str(_views_sql(raw, "SELECT hash FROM ledger_audit_chain WHERE position = 4")[0][0])  # type: ignore[index]
    for position in range(6, head + 1):
        originator_id, version, topic, state = raw.row(position)
        body, mac = split(state)
        assert mac is not None

        class Row:
            id = position
            originator_version = version

        Row.originator_id = originator_id  # type: ignore[attr-defined]
        Row.topic = topic  # type: ignore[attr-defined]
        link = sealed_link(link, Row(), mac, body)  # type: ignore[arg-type]
        raw._run(
            "INSERT INTO ledger_audit_chain VALUES (?, ?)",
            "INSERT INTO ledger_audit_chain VALUES (?, ?)",
            (position, link),
        )
    return 5


def move_a_row_to_the_end(raw: RawStore, head: int) -> int:
    """Delete an event and store it again, unchanged, at a new position (its seal still fits)."""
    row = raw.row(3)
    raw.delete_from(3, 3)
    raw.insert(head + 1, *row)
    return 3


def edit_a_view_row(raw: RawStore, head: int) -> int:
    _views_sql(raw, "UPDATE ledger_credits SET amount_minor = amount_minor * 100")
    return 0


def delete_a_wrapped_key(raw: RawStore, head: int) -> int:
    _views_sql(
        raw,
        "DELETE FROM ledger_wrapped_keys WHERE name IN"
        " (SELECT name FROM ledger_wrapped_keys WHERE name NOT IN ('root', 'legacy')"
        " ORDER BY name LIMIT 1)",
    )
    return 0


NEW_TAMPERING: list[Callable[[RawStore, int], int]] = [
    rechain_without_the_key,
    move_a_row_to_the_end,
    edit_a_view_row,
    delete_a_wrapped_key,
]
ALL_TAMPERING = TAMPERING + NEW_TAMPERING
#: Tampering of the events themselves, which an export carries (views and keys it does not).
EVENT_TAMPERING = [*TAMPERING, rechain_without_the_key, move_a_row_to_the_end]


def _open(url: str, clock: ManualClock) -> Ledger:
    led = Ledger.open(url, clock=clock, secret_key=SECRET)
    led._updater.digest_every_events = 4  # publish often, so that tampering lands after one
    return led


@pytest.mark.parametrize("tamper", ALL_TAMPERING, ids=lambda f: f.__name__)
def test_r18v2_every_tamper_kind_fails_verify(
    durable_url: str, clock: ManualClock, tamper: Callable[[RawStore, int], int]
) -> None:
    with _open(durable_url, clock) as led:
        history(led, clock)
        digest = led.audit.digest()
        assert led.audit.verify().ok
        assert led.audit.verify(digest).ok
    bad = tamper(RawStore(durable_url), digest.position)
    with _open(durable_url, clock) as led:
        for result in (led.audit.verify(), led.audit.verify(digest)):
            assert not result.ok, tamper.__name__
            assert result.problem
            if bad:
                assert result.broken_at == bad, result.problem
            elif tamper is edit_a_view_row:
                assert result.view == "ledger_credits", result.problem
            else:
                assert result.view == "ledger_wrapped_keys", result.problem


@pytest.mark.parametrize("tamper", EVENT_TAMPERING, ids=lambda f: f.__name__)
def test_r18v2_an_export_of_a_tampered_store_fails_with_the_public_key_alone(
    durable_url: str,
    clock: ManualClock,
    tamper: Callable[[RawStore, int], int],
    tmp_path: Path,
) -> None:
    with _open(durable_url, clock) as led:
        history(led, clock)
        public_key = led.audit.public_key()
        published = led.audit.digests()[-1]
        led.audit.export_events(tmp_path / "before.jsonl")
    assert verify_export(tmp_path / "before.jsonl", published, public_key=public_key).ok
    tamper(RawStore(durable_url), published.position)
    with _open(durable_url, clock) as led:
        led.audit.export_events(tmp_path / "after.jsonl")
    result = verify_export(tmp_path / "after.jsonl", published, public_key=public_key)
    assert not result.ok, tamper.__name__
    assert not result.macs_checked  # nothing secret was used
    assert result.problem


def test_r18v2_a_moved_row_never_doubles_a_credit(durable_url: str, clock: ManualClock) -> None:
    with _open(durable_url, clock) as led:
        _, order = tenant_with_order(led)
        clock.advance(timedelta(days=1))
        led.cancel(AGENT, order)
        month = clock().strftime("%Y-%m")
        before = led.monthly_credits(READER, month).totals
    raw = RawStore(durable_url)
    head = raw.head()
    credit = next(p for p in range(1, head + 1) if raw.row(p)[2].endswith("CreditIssued.v1"))
    row = raw.row(credit)
    raw.delete_from(credit, credit)
    raw.insert(head + 1, *row)
    with _open(durable_url, clock) as led:
        # The copy's MAC is already in the tree: the views stop before it, never doubling.
        with pytest.raises(ProjectionError) as stopped:
            led.monthly_credits(READER, month)
        assert stopped.value.position == head + 1
        assert before
        assert not led.audit.verify().ok


def test_r18v2_a_rewrite_with_the_tree_and_digests_dropped_is_caught_by_a_published_digest(
    durable_url: str, clock: ManualClock
) -> None:
    """The strongest attacker without the key: drops an event, the chain, tree and digest
    tables and lets the ledger rebuild them. Only a digest kept elsewhere notices; the
    consistency proof from it fails too."""
    with _open(durable_url, clock) as led:
        history(led, clock)
        kept = led.audit.digests()[0]
        public_key = led.audit.public_key()
    raw = RawStore(durable_url)
    raw.delete_from(2, 2)
    for table in ("ledger_audit_chain", *TREE_AND_VIEWS):
        _views_sql(raw, f"DELETE FROM {table}")
    with _open(durable_url, clock) as led:
        led.rebuild_views()
        result = led.audit.verify(kept)
        assert not result.ok
        assert result.broken_at == kept.position
        tenant_with_order(led)  # the history grows past the kept digest's length again
        proof = led.audit.prove_consistency(kept)
    checked = verify_proof(proof.to_json(), public_key=public_key)
    assert not checked.ok
    assert "prefix" in (checked.problem or "")


def test_r18v2_digests_are_signed_published_and_consistent(
    store_url: str, clock: ManualClock
) -> None:
    with _open(store_url, clock) as led:
        history(led, clock)
        public_key = led.audit.public_key()
        published = led.audit.digests()
        assert published, "the ledger publishes digests as it goes"
        for item in published:
            assert AuditDigest.parse(str(item)).signed_by(load_public_key(public_key))
        now = led.audit.digest()
        assert now.signed
        assert now.tree_size == led.audit.verify().tree_size
        _, order = tenant_with_order(led)
        later = led.audit.digest()
        proof = led.audit.prove_consistency(published[0])
        assert verify_proof(proof.to_dict(), public_key=public_key).ok
        inclusion = led.audit.prove(order)
    checked = verify_proof(inclusion.to_json(), public_key=public_key)
    assert checked.ok
    assert checked.events == len(inclusion.events) >= 2
    assert inclusion.digest.tree_size >= later.tree_size  # type: ignore[operator]
    # Any change to the proof fails it.
    data = inclusion.to_dict()
    data["events"][0]["body_sha256"] = "0" * 64
    assert not verify_proof(data, public_key=public_key).ok
    data = inclusion.to_dict()
    data["events"][0]["leaf_index"] += 1
    assert not verify_proof(json.dumps(data), public_key=public_key).ok


def test_r18v2_a_proof_or_digest_from_another_store_is_refused(
    tmp_path: Path, clock: ManualClock
) -> None:
    with _open(f"sqlite:///{tmp_path}/a.db", clock) as first:
        history(first, clock)
        foreign = first.audit.digest()
        proof = first.audit.prove_consistency(foreign)
    with Ledger.open(f"sqlite:///{tmp_path}/b.db", clock=clock, secret_key=b"t" * 32) as other:
        history(other, clock)
        key = other.audit.public_key()
        with pytest.raises(InvalidInput, match="old_digest"):
            other.audit.prove_consistency(foreign)
        result = other.audit.verify(foreign)
        assert not result.ok
        assert "not signed by this store" in (result.problem or "")
    assert not verify_proof(proof.to_json(), public_key=key).ok


@pytest.mark.parametrize(
    "proof",
    [
        "not json",
        {"format": "ledger-proof"},
        {"format": "ledger-proof", "version": 1, "kind": "inclusion", "digest": "1:zz"},
        {"format": "ledger-proof", "version": 1, "kind": "teleport", "digest": "1:" + "a" * 64},
        [],
    ],
)
def test_r18v2_a_malformed_proof_is_invalid_input(proof: object, led: Ledger) -> None:
    with pytest.raises(InvalidInput, match="proof"):
        verify_proof(proof, public_key=led.audit.public_key())


def test_r18v2_a_digest_longer_than_the_history_is_refused(led: Ledger) -> None:
    tenant_with_order(led)
    digest = led.audit.digest()
    assert digest.tree_size is not None
    longer = AuditDigest(
        digest.position + 5,
        digest.hash,
        digest.tree_size + 5,
        digest.root,
        digest.signed_at,
        digest.signature,
    )
    with pytest.raises(InvalidInput, match="old_digest"):
        led.audit.prove_consistency(longer)
    assert not led.audit.verify(longer).ok
    with pytest.raises(InvalidInput, match="public_key"):
        verify_proof(led.audit.prove(tenant_with_order(led)[1]).to_json(), public_key="nope")


def test_r18v2_an_export_never_writes_over_the_store(tmp_path: Path, clock: ManualClock) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    with _open(url, clock) as led:
        history(led, clock)
        (tmp_path / "link-to-key").symlink_to(tmp_path / "ledger.db.key")
        (tmp_path / "hard-link").hardlink_to(tmp_path / "ledger.db")
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
        for target in ("ledger.db", "ledger.db.key", "ledger.db-wal", "link-to-key", "hard-link"):
            with pytest.raises(InvalidInput, match="file of the store"):
                led.audit.export_events(tmp_path / target)
            with pytest.raises(InvalidInput, match="file of the store"):
                led.audit.export_software(str(tmp_path / target))
        after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
        assert after.keys() >= before.keys()
        assert all(after[name] == data for name, data in before.items() if "-" not in name)
        assert led.audit.verify().ok


def test_r18v2_an_export_cut_short_leaves_the_earlier_file(
    tmp_path: Path, clock: ManualClock
) -> None:
    with _open(f"sqlite:///{tmp_path}/l.db", clock) as led:
        history(led, clock)
        target = tmp_path / "events.jsonl"
        led.audit.export_events(target)
        earlier = target.read_bytes()

        tenant_with_order(led)
        with pytest.raises(KeyboardInterrupt):  # as a kill would, half-way through
            _export_killed(led, target)
        assert target.read_bytes() == earlier
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def _export_killed(led: Ledger, target: Path) -> None:
    written = {"lines": 0}
    real_write = export._to_target

    def dying(write: Callable[[], object]) -> None:
        written["lines"] += 1
        if written["lines"] > 3:
            raise KeyboardInterrupt
        real_write(write)

    export._to_target = dying  # type: ignore[assignment]
    try:
        led.audit.export_events(target)
    finally:
        export._to_target = real_write  # type: ignore[assignment]


def test_r18v2_no_command_prints_a_key_that_can_forge(led: Ledger) -> None:
    audit = get_command(app).commands["audit"]  # type: ignore[attr-defined]
    assert "key" not in audit.commands
    assert {"public-key", "digests", "prove", "verify-proof", "rebuild-compare", "report"} <= set(
        audit.commands
    )
    pem = led.audit.public_key()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert led.audit.key() not in pem

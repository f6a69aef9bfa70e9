"""The Merkle tree (RFC 6962 / RFC 9162 §2.1) against a plain recursive model of the RFC."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, word for word."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*rfc_path(m, leaves[:k]), mth(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), mth(leaves[:k])]


def rfc_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*rfc_subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*rfc_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def grown(size: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], Frontier]:
    """Leaves, the nodes a projector would store for them, and the frontier."""
    leaves = [leaf_hash(f"event {i}".encode()) for i in range(size)]
    stored: dict[tuple[int, int], bytes] = {}
    frontier = Frontier()
    for index, leaf in enumerate(leaves):
        for level, node in enumerate(frontier.append(leaf)):
            stored[(level, index >> level)] = node
    return leaves, stored, frontier


sizes = st.integers(min_value=1, max_value=300)


@given(sizes)
def test_the_frontier_and_stored_nodes_give_the_rfc_root(size: int) -> None:
    leaves, stored, frontier = grown(size)
    lookup = lambda level, index: stored[(level, index)]  # noqa: E731
    assert frontier.root() == mth(leaves) == root_of(size, lookup)
    reloaded = Frontier.load(size, lookup)
    extra = leaf_hash(b"next")
    frontier.append(extra)
    reloaded.append(extra)
    assert reloaded.root() == frontier.root() == mth([*leaves, extra])


@given(sizes, st.data())
def test_inclusion_paths_are_the_rfcs_and_verify(size: int, data: st.DataObject) -> None:
    leaves, stored, frontier = grown(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = inclusion_path(index, size, lambda level, i: stored[(level, i)])
    assert path == rfc_path(index, leaves)
    root = frontier.root()
    assert verify_inclusion(leaves[index], index, size, path, root)
    assert len(path) <= size.bit_length()
    # Any other leaf, index, size or a changed sibling fails.
    assert not verify_inclusion(leaf_hash(b"forged"), index, size, path, root)
    # (The size is not bound by the path alone: the signed digest binds it to the root.)
    if size > 1:
        other = (index + 1) % size
        assert not verify_inclusion(leaves[index], other, size, path, root)
        bad = [bytes(32), *path[1:]]
        assert not verify_inclusion(leaves[index], index, size, bad, root)


@given(sizes, st.data())
def test_consistency_paths_are_the_rfcs_and_verify(size: int, data: st.DataObject) -> None:
    leaves, stored, frontier = grown(size)
    old = data.draw(st.integers(min_value=1, max_value=size))
    path = consistency_path(old, size, lambda level, i: stored[(level, i)])
    assert path == rfc_subproof(old, leaves, True)
    old_root, root = mth(leaves[:old]), frontier.root()
    assert verify_consistency(old, old_root, size, root, path)
    # A rewritten old history is not a prefix of the new one.
    rewritten = mth([leaf_hash(b"rewritten"), *leaves[1:old]])
    assert not verify_consistency(old, rewritten, size, root, path)
    assert not verify_consistency(old, old_root, size, mth([*leaves[:-1], leaf_hash(b"x")]), path)


def test_the_empty_tree() -> None:
    assert Frontier().root() == EMPTY_ROOT == root_of(0, lambda level, index: b"")
    assert verify_consistency(0, EMPTY_ROOT, 5, b"any", [])

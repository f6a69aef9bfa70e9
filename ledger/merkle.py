"""R18 v2: the Merkle tree over the event log, as RFC 6962 (and RFC 9162 §2.1) define it.

Leaf ``i`` (0-based, in log order) is the ``i``-th event of the log; its hash is
``SHA-256(0x00 || leaf data)`` and an inner node's is ``SHA-256(0x01 || left ||
right)``. The tree of ``n`` leaves splits at the largest power of two below
``n``, so every subtree on the left is perfect. This module touches no
database: the projector grows a `Frontier` as it applies events and stores the
nodes each leaf completes; proofs are built from those stored nodes through a
``lookup(level, index)``; `verify_inclusion` and `verify_consistency` are the
RFC 9162 checks an auditor re-implements (docs/audit.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "consistency_path",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

#: ``lookup(level, index)``: the stored hash of the perfect subtree over the leaves
#: ``[index * 2**level, (index + 1) * 2**level)``.
Lookup = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two below ``size`` (``size`` >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees that make up a tree, left to right: enough to
    append a leaf and to compute the root, in O(log n) hashes and memory."""

    __slots__ = ("_peaks", "size")

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        if len(peaks) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} peaks")
        self.size = size
        self._peaks = list(peaks)

    @staticmethod
    def peak_positions(size: int) -> list[tuple[int, int]]:
        """(level, index) of each peak of a tree of ``size`` leaves, left to right."""
        found, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                found.append((level, start >> level))
                start += 1 << level
        return found

    @classmethod
    def load(cls, size: int, lookup: Lookup) -> Frontier:
        return cls(size, [lookup(level, index) for level, index in cls.peak_positions(size)])

    def copy(self) -> Frontier:
        return Frontier(self.size, self._peaks)

    def append(self, leaf: bytes) -> list[bytes]:
        """Add a leaf hash; returns it and the nodes it completes, from level 0 up."""
        completed = [leaf]
        node = leaf
        size = self.size
        peaks = self._peaks
        # A run of trailing one bits in the old size: each is a peak this leaf pairs up with.
        while size & 1:
            node = node_hash(peaks.pop(), node)
            completed.append(node)
            size >>= 1
        peaks.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        node = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            node = node_hash(peak, node)
        return node


def _subtree(start: int, end: int, lookup: Lookup) -> bytes:
    """MTH(D[start:end]) for a range that starts on a boundary of its split (as in paths)."""
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        level = width.bit_length() - 1
        return lookup(level, start >> level)
    middle = start + _split(width)
    return node_hash(_subtree(start, middle, lookup), _subtree(middle, end, lookup))


def root_of(size: int, lookup: Lookup) -> bytes:
    return EMPTY_ROOT if size == 0 else _subtree(0, size, lookup)


def inclusion_path(index: int, size: int, lookup: Lookup) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]), bottom up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append(_subtree(middle, end, lookup))
            end = middle
        else:
            path.append(_subtree(start, middle, lookup))
            start = middle
    return path[::-1]


def consistency_path(old_size: int, size: int, lookup: Lookup) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[size]), for 0 < old_size <= size."""
    if not 0 < old_size <= size:
        raise ValueError(f"cannot prove a tree of {old_size} leaves within one of {size}")
    path: list[bytes] = []
    start, end, whole = 0, size, True
    known = old_size
    while known != end - start:
        middle_width = _split(end - start)
        if known <= middle_width:
            path.append(_subtree(start + middle_width, end, lookup))
            end = start + middle_width
        else:
            path.append(_subtree(start, start + middle_width, lookup))
            start += middle_width
            known -= middle_width
            whole = False
    if not whole:
        path.append(_subtree(start, end, lookup))
    return path[::-1]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Iterable[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` lead from leaf ``index`` to ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, node = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root


def verify_consistency(
    old_size: int, old_root: bytes, size: int, root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``old_size`` leaves a prefix of the one of ``size``?"""
    if old_size == 0:
        return not path  # the empty tree is a prefix of every tree
    if not 0 < old_size <= size:
        return False
    if old_size == size:
        return not path and old_root == root
    if not path:
        return False
    nodes = list(path)
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = nodes[0]
    for node in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first = node_hash(node, first)
            second = node_hash(node, second)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second = node_hash(second, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first == old_root and second == root

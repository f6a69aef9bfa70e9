"""Branch coverage of a few functions (a policy's `credit`) while a state machine runs.

A policy whose every threshold was tested agrees with the model only if the
machine actually went down every branch of it; this measures whether it did::

    with branch_coverage(TwoWeekSubscriptions.credit) as measured:
        run(TwoWeekProgramme, steps=2_000)
    print(measured)        # TwoWeekSubscriptions.credit: 4 of 4 branch outcomes (100 %)

Standard library only (``sys.settrace`` with opcode events, Python 3.11):
every conditional jump in the functions' bytecode is a branch with two
outcomes, jumping or falling through, and an outcome is covered once the
instruction after the jump was the one its outcome leads to. The tracer
follows only the given functions' frames, but Python calls it on every
call while it is on, so a measured run is slower (see docs/testing.md).
"""

from __future__ import annotations

import dis
import linecache
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

__all__ = ["Branch", "BranchCoverage", "branch_coverage"]

TraceFunction = Callable[[FrameType, str, Any], Any]


@dataclass(frozen=True)
class Branch:
    """One outcome of a conditional jump: from ``line`` on to ``to_line``."""

    function: str
    offset: int
    destination: int
    line: int
    to_line: int
    jumps: bool

    def describe(self, filename: str) -> str:
        source = linecache.getline(filename, self.line).strip()
        target = linecache.getline(filename, self.to_line).strip()
        how = "jumping" if self.jumps else "falling through"
        return f"line {self.line} `{source}` → line {self.to_line} `{target}` ({how})"


def _code_of(function: Callable[..., Any]) -> CodeType:
    inner = getattr(function, "__func__", function)  # a bound or class method
    code = getattr(inner, "__code__", None)
    if not isinstance(code, CodeType):
        raise TypeError(f"{function!r} has no Python code to measure")
    return code


def _codes(code: CodeType) -> Iterator[CodeType]:
    """The function's code and the code nested in it (comprehensions, lambdas)."""
    yield code
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _codes(constant)


def _branches(code: CodeType, name: str) -> list[Branch]:
    instructions = list(dis.get_instructions(code))
    lines: dict[int, int] = {}
    line = code.co_firstlineno
    for instruction in instructions:
        if instruction.positions is not None and instruction.positions.lineno is not None:
            line = instruction.positions.lineno
        lines[instruction.offset] = line
    found = []
    for index, instruction in enumerate(instructions):
        conditional = "IF" in instruction.opname or instruction.opname == "FOR_ITER"
        if not conditional or instruction.opcode not in (*dis.hasjrel, *dis.hasjabs):
            continue
        if index + 1 == len(instructions):
            continue
        here = lines[instruction.offset]
        after = instructions[index + 1].offset
        target = int(instruction.argval)
        found.append(Branch(name, instruction.offset, after, here, lines[after], False))
        found.append(Branch(name, instruction.offset, target, here, lines.get(target, here), True))
    return found


@dataclass
class BranchCoverage:
    """The branch outcomes of some functions, and which of them a run took."""

    names: dict[CodeType, str]
    files: dict[str, str]
    branches: list[Branch]
    taken: set[tuple[str, int, int]] = field(default_factory=set)

    @classmethod
    def of(cls, *functions: Callable[..., Any]) -> BranchCoverage:
        names: dict[CodeType, str] = {}
        files: dict[str, str] = {}
        branches: list[Branch] = []
        for function in functions:
            top = _code_of(function)
            name = getattr(function, "__qualname__", top.co_name)
            files[name] = top.co_filename
            for code in _codes(top):
                names[code] = name
                branches += _branches(code, name)
        return cls(names, files, branches)

    @property
    def covered(self) -> list[Branch]:
        return [b for b in self.branches if self._key(b) in self.taken]

    @property
    def missed(self) -> list[Branch]:
        return [b for b in self.branches if self._key(b) not in self.taken]

    @property
    def ratio(self) -> float:
        """Covered outcomes over all of them (1.0 for a function without branches)."""
        return len(self.covered) / len(self.branches) if self.branches else 1.0

    @staticmethod
    def _key(branch: Branch) -> tuple[str, int, int]:
        return branch.function, branch.offset, branch.destination

    def per_function(self) -> dict[str, tuple[int, int]]:
        """``{qualified name: (covered, total)}``."""
        counts = dict.fromkeys(self.files, (0, 0))
        for branch in self.branches:
            covered, total = counts[branch.function]
            counts[branch.function] = (covered + (self._key(branch) in self.taken), total + 1)
        return counts

    def __str__(self) -> str:
        lines = []
        for name, (covered, total) in self.per_function().items():
            share = f"{100 * covered / total:.0f} %" if total else "no branches"
            lines.append(f"{name}: {covered} of {total} branch outcomes ({share})")
        lines += [f"  never: {b.describe(self.files[b.function])}" for b in self.missed]
        return "\n".join(lines)

    # -- tracing -----------------------------------------------------------------------------

    def _tracer(self) -> TraceFunction:
        names = self.names
        jumps = {(b.function, b.offset) for b in self.branches}
        taken = self.taken

        def follow(name: str) -> TraceFunction:
            last = -1  # the frame's previous instruction: if it was a jump, this is its outcome

            def step(frame: FrameType, event: str, _arg: Any) -> TraceFunction:
                nonlocal last
                if event == "opcode":
                    here = frame.f_lasti
                    if (name, last) in jumps:
                        taken.add((name, last, here))
                    last = here
                return step

            return step

        def on_call(frame: FrameType, event: str, _arg: Any) -> TraceFunction | None:
            name = names.get(frame.f_code)
            if event != "call" or name is None:
                return None  # not measured: no line or opcode events for this frame
            frame.f_trace_opcodes = True
            return follow(name)

        return on_call


@contextmanager
def branch_coverage(*functions: Callable[..., Any]) -> Iterator[BranchCoverage]:
    """Measure the branch outcomes of ``functions`` taken inside the block (this thread)."""
    measured = BranchCoverage.of(*functions)
    previous = sys.gettrace()
    sys.settrace(measured._tracer())
    try:
        yield measured
    finally:
        sys.settrace(previous)

"""A policy author moves subscriptions from 30 to 14 days: compare, switch, pin a slip as a test.

1. `compare` shows the simplest order on which the old and the new policy differ.
2. A machine deploys the new policy part-way through every example (R20) and
   checks that orders bought before the switch keep the old rules.
3. A slip (15 days typed for 14) fails with one shrunk story, which
   `story.as_pytest()` writes out as a pinned regression test.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from ledger import CancellationPolicy, ProductKind
from ledger.testing import LedgerStateMachine, ModelMismatch, ReferenceRules, compare, run

DAY = timedelta(days=1)
OLD = CancellationPolicy.default()
NEW = CancellationPolicy(
    {ProductKind.PERPETUAL: 30 * DAY, ProductKind.SUBSCRIPTION: 14 * DAY},
    policy_id="subscriptions-14d/2027-01",
)
TERMS = ReferenceRules({ProductKind.PERPETUAL: 30 * DAY, ProductKind.SUBSCRIPTION: 14 * DAY})


class SwitchToTwoWeeks(LedgerStateMachine):
    """Bought under the old policy until the new one is deployed, part-way (R20)."""

    next_policy = NEW
    next_reference = TERMS


class SwitchWithASlip(SwitchToTwoWeeks):
    """The same switch, with 15 days typed where the terms say 14."""

    next_policy = CancellationPolicy(
        {ProductKind.PERPETUAL: 30 * DAY, ProductKind.SUBSCRIPTION: 15 * DAY},
        policy_id="subscriptions-14d/2027-01",
    )


def main(pinned_dir: Path) -> None:
    print(compare(OLD, NEW))
    print(run(SwitchToTwoWeeks, steps=1_000))
    try:
        run(SwitchWithASlip, steps=2_000)
    except ModelMismatch as slip:
        print(slip)
        pinned = pinned_dir / "test_pinned_slip.py"
        pinned.write_text(slip.story.as_pytest(machine="policy_author:SwitchWithASlip"))
        print(f"pinned as {pinned.name}: {len(pinned.read_text().splitlines())} lines")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())

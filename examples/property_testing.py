"""A billing engineer moves subscriptions to a 7-day window and proves the rules still hold."""

from datetime import timedelta

from ledger import CancellationPolicy, ProductKind
from ledger.testing import LedgerStateMachine, ReferenceRules, run


class SevenDaySubscriptions(LedgerStateMachine):
    policy = CancellationPolicy.seven_day_subscriptions()  # what the ledger runs
    reference = ReferenceRules(  # what the programme's terms say, written out plainly
        {ProductKind.PERPETUAL: timedelta(days=30), ProductKind.SUBSCRIPTION: timedelta(days=7)}
    )


TestSevenDaySubscriptions = SevenDaySubscriptions.TestCase  # pytest collects this

if __name__ == "__main__":
    print(run(SevenDaySubscriptions, steps=1_000))

"""The policies a state machine's ledger runs, and the switch to ``next_policy`` part-way (R20)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from ledger.application import Ledger
from ledger.policies.calls import PolicyBook
from ledger.policies.cancellation import CancellationPolicy
from ledger.testing.clock import ManualClock
from ledger.testing.harness import Harness
from ledger.testing.model import ModelOrder, ReferenceModel, ReferenceRules
from ledger.testing.stores import open_test_ledger

__all__ = ["PolicyDeployment"]


class PolicyDeployment:
    """Part of `LedgerStateMachine`: which policy governs which order, and the deployment."""

    next_policy: ClassVar[CancellationPolicy | None]
    next_reference: ClassVar[ReferenceRules | None]
    # Set by the machine's __init__.
    ledger: Ledger
    clock: ManualClock
    harness: Harness
    model: ReferenceModel
    _policy: CancellationPolicy
    _earlier: tuple[CancellationPolicy, ...]
    _url: str
    _shapes: Any

    def open_ledger(self, url: str, clock: ManualClock) -> Ledger:
        """The ledger under test; override to pass more options to `Ledger.open`.

        Opened again, on the same store, when the machine switches policy: pass
        ``self.current_policy`` and ``self.earlier_policies`` on.
        """
        return open_test_ledger(
            url, clock, self.current_policy, self.earlier_policies, secret_key=self.secret_key
        )

    @property
    def current_policy(self) -> CancellationPolicy:
        """The policy new orders are bought under: ``policy``, or ``next_policy`` once switched."""
        return self._policy

    @property
    def earlier_policies(self) -> tuple[CancellationPolicy, ...]:
        """The policies older orders were bought under (R20): ``(policy,)`` once switched."""
        return self._earlier

    @property
    def secret_key(self) -> bytes:
        """This example's data key: a throw-away one, the same when the ledger is opened again."""
        key: bytes | None = getattr(self, "_secret_key", None)
        if key is None:
            key = self._secret_key = os.urandom(32)
        return key

    def policy_of(self, order: ModelOrder) -> CancellationPolicy:
        """The policy ``order`` was bought under (R20)."""
        if self._earlier and order.rules is not self.model.rules:
            return self._earlier[-1]
        return self._policy

    def switch_policy(self) -> None:
        """Deploy ``next_policy``: open the ledger again on the same store with it current and
        ``policy`` earlier (R20); the model expects ``next_reference`` (or R8 with
        ``next_policy``'s windows) of the orders bought from now on.

        A memory store lives only as long as its ledger, so there the ledger keeps its
        store and takes the new policy book in place, which is what opening again gives.
        """
        assert self.next_policy is not None
        self._earlier = (*self._earlier, self._policy)
        self._policy = self.next_policy
        if self._url.startswith("memory"):
            self.ledger._policies = PolicyBook(self._policy, self._earlier)
        else:
            self.ledger.close()
            self.ledger = self.open_ledger(self._url, self.clock)
            self.harness.reopened(self.ledger)
        self.model.rules = self.next_reference or ReferenceRules.windows_of(self._policy)
        self._shapes = None

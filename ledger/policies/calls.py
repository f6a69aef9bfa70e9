"""Calling cancellation policies: in their own form, with every answer checked (R19, R20).

A policy is user code. `GoverningPolicy` calls one in the form it was written
in (R19's ``deadline(terms)`` and ``credit(terms, now)``, or the kind-only
``deadline(kind, purchased_at)`` and ``credit(kind, total, term_days,
purchased_at, now)`` of before R19, told apart once, from the signatures)
and refuses any answer the ledger could not stand behind: a policy that
raises, a deadline that is not an aware datetime, a credit that is not `Money`
in the order's currency between zero and what is still refundable. Each is a
`ConfigurationError` naming the policy and the order, raised before anything
is recorded.

`PolicyBook` holds the policy in force and the earlier ones, by ``policy_id``,
so that an order is always decided by the policy it was bought under (R20).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from ledger.errors import ConfigurationError, InvalidInput
from ledger.money import Money
from ledger.policies.cancellation import check_policy_id
from ledger.values import OrderTerms

__all__ = ["GoverningPolicy", "PolicyBook"]

Form = Literal["terms", "kind"]


def _binds(signature: inspect.Signature, arity: int) -> bool:
    try:
        signature.bind(*range(arity))
    except TypeError:
        return False
    return True


def _form(policy_id: str, method: Callable[..., Any], name: str, terms: int, kind: int) -> Form:
    """Which form ``method`` takes: ``terms`` (R19) or ``kind`` (before R19)."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):  # no signature to read (a C callable): take it as R19's
        return "terms"
    if _binds(signature, terms):
        return "terms"
    if _binds(signature, kind):
        return "kind"
    raise ConfigurationError(
        f"cancellation policy {policy_id!r}: {name}({', '.join(signature.parameters)})"
        f" takes neither"
        f" {name}(terms{', now' if name == 'credit' else ''}) (R19) nor the kind-only form"
    )


class GoverningPolicy:
    """One policy, called in its own form; every answer checked before the ledger uses it."""

    __slots__ = ("_credit", "_credit_form", "_deadline", "_deadline_form", "policy", "policy_id")

    def __init__(self, policy: object, field: str) -> None:
        try:
            policy_id = policy.policy_id  # type: ignore[attr-defined]
            deadline = policy.deadline  # type: ignore[attr-defined]
            credit = policy.credit  # type: ignore[attr-defined]
        except Exception:  # an attribute of user code may raise anything
            raise InvalidInput(
                field,
                "must be a cancellation policy: policy_id, deadline(terms), credit(terms, now)",
            ) from None
        if not callable(deadline) or not callable(credit):
            raise InvalidInput(field, "must have callable deadline(terms) and credit(terms, now)")
        self.policy: Any = policy
        self.policy_id = check_policy_id(f"{field}.policy_id", policy_id)
        self._deadline: Callable[..., Any] = deadline
        self._credit: Callable[..., Any] = credit
        self._deadline_form = _form(self.policy_id, deadline, "deadline", 1, 2)
        self._credit_form = _form(self.policy_id, credit, "credit", 2, 5)

    def _refused(self, order: object, problem: str) -> ConfigurationError:
        return ConfigurationError(
            f"cancellation policy {self.policy_id!r} {problem} (order {order})"
        )

    def deadline(self, terms: OrderTerms, order: object) -> datetime | None:
        """The last instant (exclusive) the order may be cancelled, in UTC; None: never."""
        try:
            if self._deadline_form == "terms":
                answer = self._deadline(terms)
            else:
                answer = self._deadline(terms.product.kind, terms.purchased_at)
        except Exception as error:
            raise self._refused(order, f"raised {type(error).__name__}: {error}") from error
        if answer is None:
            return None
        if not isinstance(answer, datetime):
            raise self._refused(order, f"returned {answer!r} as a deadline, not a datetime")
        if answer.utcoffset() is None:
            raise self._refused(order, f"returned the naive deadline {answer.isoformat()}")
        return answer.astimezone(UTC)

    def credit(self, terms: OrderTerms, now: datetime, refundable: Money, order: object) -> Money:
        """The credit for cancelling at ``now``: `Money` in the order's currency, at most
        ``refundable`` (the total less the credits issued already), never below zero."""
        try:
            if self._credit_form == "terms":
                answer = self._credit(terms, now)
            else:
                product = terms.product
                answer = self._credit(
                    product.kind, terms.total, product.term_days, terms.purchased_at, now
                )
        except Exception as error:
            raise self._refused(order, f"raised {type(error).__name__}: {error}") from error
        currency = terms.total.currency
        if not isinstance(answer, Money) or answer.currency != currency:
            raise self._refused(order, f"returned {answer!r}, not Money in {currency}")
        if not Money.zero(currency) <= answer <= refundable:
            left = "" if refundable == terms.total else f", of which {refundable} is left"
            raise self._refused(order, f"credited {answer} on an order of {terms.total}{left}")
        return answer


class PolicyBook:
    """The policy in force for new orders and the earlier ones, by ``policy_id`` (R20)."""

    __slots__ = ("_by_id", "current")

    def __init__(self, current: object, earlier: Iterable[object] = ()) -> None:
        self.current = GoverningPolicy(current, "cancellation_policy")
        self._by_id = {self.current.policy_id: self.current}
        if isinstance(earlier, str | bytes) or not isinstance(earlier, Iterable):
            raise InvalidInput("earlier_policies", "must be a sequence of cancellation policies")
        for index, policy in enumerate(earlier):
            governing = GoverningPolicy(policy, f"earlier_policies[{index}]")
            known = self._by_id.get(governing.policy_id)
            if known is not None and not _same(known.policy, policy):
                raise InvalidInput(
                    "earlier_policies",
                    f"two different policies share the id {governing.policy_id!r}",
                )
            self._by_id.setdefault(governing.policy_id, governing)

    @property
    def policy_ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def governing(self, policy_id: str, order: object) -> GoverningPolicy:
        """The policy an order was bought under; `ConfigurationError` if it was not passed."""
        policy = self._by_id.get(policy_id)
        if policy is None:
            raise ConfigurationError(
                f"order {order} was bought under cancellation policy {policy_id!r}, which this"
                f" ledger was not opened with: pass it in Ledger.open(..., earlier_policies=...)"
                f" (known: {', '.join(repr(known) for known in self._by_id)})"
            )
        return policy


def _same(first: object, second: object) -> bool:
    if first is second:
        return True
    try:
        return bool(first == second)
    except Exception:  # __eq__ is user code
        return False

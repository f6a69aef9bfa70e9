"""Whose records an audit read may show (R21): every partner's, or one partner's.

An audit call given an `Actor` checks it like every other query: the vendor's
auditor reads every partner's records, a partner's `Role.AUDITOR` (or its
`Role.GLOBAL_ADMIN`, for the records) reads its own partner's, and nobody else
reads any. A call given no actor, or an operator's name, is the operator's:
whoever holds the store's database role and key reads the history anyway, so
the ledger does not pretend to stop them (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import AccessDenied
from ledger.policies.access import Permission
from ledger.values import Actor

__all__ = ["AuditScope"]


@dataclass(frozen=True)
class AuditScope:
    #: The one partner whose records may be shown; None: every partner's.
    partner_id: str | None = None
    user: str | None = None

    @classmethod
    def of(cls, actor: Actor | str | None, permission: Permission) -> AuditScope:
        """The scope of ``actor`` for ``permission`` (`AccessDenied` if it has none)."""
        if not isinstance(actor, Actor):
            return cls(user=actor)
        permission.require(actor)
        return cls(None if actor.sees_every_partner else actor.partner_id, actor.user)

    def partner(self, asked: str | None) -> str | None:
        """The partner filter to apply: the one asked for, within this scope."""
        if self.partner_id is None:
            return asked
        if asked is not None and asked != self.partner_id:
            raise AccessDenied(
                f"{self.user} may not audit partner {asked}: only its own partner's records"
                f" ({self.partner_id}); the vendor's AUDITOR audits every partner"
            )
        return self.partner_id

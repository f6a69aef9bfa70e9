"""Who may do what (R3, R4, R5, R6, R10, R11), as role sets in one place.

Visibility (may the actor know the thing exists?) is decided before the role
check, so an invisible order is `OrderNotFound` and a visible one the actor
may not act on is `AccessDenied`.
"""

from __future__ import annotations

from uuid import UUID

from ledger.errors import AccessDenied
from ledger.values import Actor, Role

PURCHASERS = frozenset({Role.ADMIN_AGENT, Role.GLOBAL_ADMIN})
CUSTOMER_MANAGERS = frozenset({Role.ADMIN_AGENT, Role.SALES_AGENT, Role.GLOBAL_ADMIN})
KEY_HANDLERS = frozenset({Role.ADMIN_AGENT})
CANCELLERS = frozenset({Role.ADMIN_AGENT})
REFUND_REQUESTERS = frozenset({Role.ADMIN_AGENT})
ACTIVITY_READERS = frozenset(
    {Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.REFERRAL_ADMIN, Role.MARKETING_CONTENT_ADMIN}
)
CREDIT_READERS = frozenset({Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.ADMIN_AGENT})
CUSTOMER_KEY_HANDLERS = frozenset({Role.GLOBAL_ADMIN})


def can_see(actor: Actor, partner_id: str, tenant_id: UUID) -> bool:
    """R11: partners see their own customers' things, customers their own tenant's."""
    if actor.is_support:
        return True
    if actor.partner_id is not None:
        return actor.partner_id == partner_id
    return actor.tenant_id == tenant_id


def require_partner_role(actor: Actor, roles: frozenset[Role], action: str) -> None:
    if actor.partner_id is None or actor.roles.isdisjoint(roles):
        raise AccessDenied(f"{actor.user} may not {action}")


def require_key_handler(actor: Actor, action: str) -> None:
    """R4: the partner's admin agent, or the tenant's own global admin."""
    if actor.partner_id is not None and not actor.roles.isdisjoint(KEY_HANDLERS):
        return
    if actor.tenant_id is not None and not actor.roles.isdisjoint(CUSTOMER_KEY_HANDLERS):
        return
    raise AccessDenied(f"{actor.user} may not {action}")


def require_support(actor: Actor, action: str) -> None:
    if not actor.is_support:
        raise AccessDenied(f"{actor.user} may not {action}: only the vendor's support may")

"""Who may do what (R3, R4, R5, R6, R10, R11), as role sets in one place.

Visibility (may the actor know the thing exists?) is decided before the role
check, so an invisible order is `OrderNotFound` and a visible one the actor
may not act on is `AccessDenied`. Every `AccessDenied` names who would have
been allowed (R11), so a caller can tell a missing role from a bug.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from ledger.errors import AccessDenied
from ledger.values import Actor, Role

PURCHASERS = frozenset({Role.ADMIN_AGENT, Role.GLOBAL_ADMIN})
CUSTOMER_MANAGERS = frozenset({Role.ADMIN_AGENT, Role.SALES_AGENT, Role.GLOBAL_ADMIN})
KEY_HANDLERS = frozenset({Role.ADMIN_AGENT})
CANCELLERS = frozenset({Role.ADMIN_AGENT})
REFUND_REQUESTERS = frozenset({Role.ADMIN_AGENT})
#: R11: refund requests hold contact details, so not every partner user lists them.
REFUND_READERS = frozenset({Role.ADMIN_AGENT, Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN})
ACTIVITY_READERS = frozenset(
    {Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.REFERRAL_ADMIN, Role.MARKETING_CONTENT_ADMIN}
)
CREDIT_READERS = frozenset({Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.ADMIN_AGENT})
CUSTOMER_KEY_HANDLERS = frozenset({Role.GLOBAL_ADMIN})
SOFTWARE_CUSTOMER_READERS = CUSTOMER_KEY_HANDLERS


def can_see(actor: Actor, partner_id: str, tenant_id: UUID) -> bool:
    """R11: partners see their own customers' things, customers their own tenant's."""
    if actor.is_support:
        return True
    if actor.partner_id is not None:
        return actor.partner_id == partner_id
    return actor.tenant_id == tenant_id


def can_see_tenant(actor: Actor, registered_by: Collection[str], tenant_id: UUID) -> bool:
    """R11: a partner sees a tenant it registered itself; its customer users see it too."""
    if actor.is_support:
        return True
    if actor.partner_id is not None:
        return actor.partner_id in registered_by
    return actor.tenant_id == tenant_id


def _roles(roles: Collection[Role]) -> str:
    return " or ".join(sorted(role.value for role in roles))


def _denied(actor: Actor, action: str, allowed: str) -> AccessDenied:
    return AccessDenied(f"{actor.user} may not {action}: allowed are {allowed}")


def require_partner_role(actor: Actor, roles: frozenset[Role], action: str) -> None:
    if actor.partner_id is None or actor.roles.isdisjoint(roles):
        raise _denied(actor, action, f"partner users with {_roles(roles)}")


def require_partner_user(actor: Actor, action: str) -> None:
    """R9: any partner user of the owning partner, whatever its roles."""
    if actor.partner_id is None:
        raise _denied(actor, action, "partner users (any role)")


def require_key_handler(actor: Actor, action: str) -> None:
    """R4: the partner's admin agent, or the tenant's own global admin."""
    if actor.partner_id is not None and not actor.roles.isdisjoint(KEY_HANDLERS):
        return
    if actor.tenant_id is not None and not actor.roles.isdisjoint(CUSTOMER_KEY_HANDLERS):
        return
    raise _denied(
        actor,
        action,
        f"partner users with {_roles(KEY_HANDLERS)}"
        f" and the tenant's customer users with {_roles(CUSTOMER_KEY_HANDLERS)}",
    )


def require_software_reader(actor: Actor) -> None:
    """The software list: any partner user, or the tenant's customer global admin."""
    if actor.partner_id is not None:
        return
    if actor.tenant_id is not None and not actor.roles.isdisjoint(SOFTWARE_CUSTOMER_READERS):
        return
    raise _denied(
        actor,
        "read the software list",
        f"partner users (any role) and the tenant's customer users with"
        f" {_roles(SOFTWARE_CUSTOMER_READERS)}",
    )


def require_refund_reader(actor: Actor) -> None:
    """R11: refund requests are for these partner roles and the vendor's support."""
    if actor.is_support:
        return
    if actor.partner_id is not None and not actor.roles.isdisjoint(REFUND_READERS):
        return
    raise _denied(
        actor,
        "list refund requests",
        f"partner users with {_roles(REFUND_READERS)}, and the vendor's {Role.SUPPORT.value}"
        " (no partner or tenant)",
    )


def require_support(actor: Actor, action: str) -> None:
    if not actor.is_support:
        raise _denied(
            actor, action, f"the vendor's {Role.SUPPORT.value} only (no partner or tenant)"
        )

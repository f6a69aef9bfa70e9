"""Who may do what (R3, R4, R5, R6, R9, R10, R11), as one table of permissions.

Visibility (may the actor know the thing exists?) is decided before the role
check, so an invisible order is `OrderNotFound` and a visible one the actor
may not act on is `AccessDenied`. Every `AccessDenied` names who would have
been allowed (R11), so a caller can tell a missing role from a bug.

Each facade command names its permission where it is declared
(`ledger.application.commands`), which collects them by method in
``PERMISSIONS``; docs/rules.md shows that as a role × action table made by
`markdown_table` (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from uuid import UUID

from ledger.errors import AccessDenied
from ledger.values import Actor, Role

#: The roles a partner user may hold (SUPPORT belongs to the vendor's staff, R10).
PARTNER_ROLES = (
    Role.ADMIN_AGENT,
    Role.SALES_AGENT,
    Role.GLOBAL_ADMIN,
    Role.ACCOUNT_ADMIN,
    Role.REFERRAL_ADMIN,
    Role.MARKETING_CONTENT_ADMIN,
    Role.AUDITOR,
)
#: R21: the partner roles that may read a partner's records as an auditor does.
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.GLOBAL_ADMIN})


@dataclass(frozen=True)
class Permission:
    """Who may do one thing to what it can see: partner roles, the tenant's own users, support."""

    #: How `AccessDenied` names the action: "<user> may not <action>: allowed are ...".
    action: str
    #: Partner users holding any of these roles.
    partner_roles: frozenset[Role] = frozenset()
    #: Every partner user, whatever its roles (R9, the software list).
    any_partner_user: bool = False
    #: The tenant's own customer users holding any of these roles (R4, the software list).
    customer_roles: frozenset[Role] = frozenset()
    #: The vendor's support: `Role.SUPPORT` and neither a partner nor a tenant (R10, R11).
    support: bool = False
    #: The vendor's auditor: `Role.AUDITOR` and neither a partner nor a tenant (R21).
    vendor_auditor: bool = False

    def allows(self, actor: Actor) -> bool:
        if actor.partner_id is not None:
            return self.any_partner_user or not actor.roles.isdisjoint(self.partner_roles)
        if actor.tenant_id is not None:
            return not actor.roles.isdisjoint(self.customer_roles)
        return (self.support and actor.is_support) or (
            self.vendor_auditor and actor.is_vendor_auditor
        )

    def require(self, actor: Actor) -> None:
        if not self.allows(actor):
            raise AccessDenied(f"{actor.user} may not {self.action}: allowed are {self.allowed}")

    @property
    def allowed(self) -> str:
        """Who is allowed, in words (the end of every `AccessDenied` message)."""
        who: list[str] = []
        if self.any_partner_user:
            who.append("partner users (any role)")
        elif self.partner_roles:
            who.append(f"partner users with {_roles(self.partner_roles)}")
        if self.customer_roles:
            who.append(f"the tenant's customer users with {_roles(self.customer_roles)}")
        if self.support:
            only = "" if who else " only"
            who.append(f"the vendor's {Role.SUPPORT.value}{only} (no partner or tenant)")
        if self.vendor_auditor:
            only = "" if who else " only"
            who.append(f"the vendor's {Role.AUDITOR.value}{only} (no partner or tenant)")
        return " and ".join(who) if who else "nobody"


def _roles(roles: Collection[Role]) -> str:
    return " or ".join(sorted(role.value for role in roles))


ADD_CUSTOMER = Permission(
    "add customers",
    partner_roles=frozenset({Role.ADMIN_AGENT, Role.SALES_AGENT, Role.GLOBAL_ADMIN}),
)
#: R11: a partner's users see its own customers.
LIST_CUSTOMERS = Permission("list customers", any_partner_user=True)
PURCHASE = Permission("buy", partner_roles=frozenset({Role.ADMIN_AGENT, Role.GLOBAL_ADMIN}))
#: R4: the partner's admin agent, or the tenant's own global admin.
VIEW_KEY = Permission(
    "view licence keys",
    partner_roles=frozenset({Role.ADMIN_AGENT}),
    customer_roles=frozenset({Role.GLOBAL_ADMIN}),
)
DOWNLOAD = Permission(
    "download software",
    partner_roles=VIEW_KEY.partner_roles,
    customer_roles=VIEW_KEY.customer_roles,
)
COPY_LINK = Permission(
    "copy download links",
    partner_roles=VIEW_KEY.partner_roles,
    customer_roles=VIEW_KEY.customer_roles,
)
#: R9: any partner user of the owning partner.
CANCELLATION_STATUS = Permission("ask whether an order can be cancelled", any_partner_user=True)
CANCEL = Permission("cancel orders", partner_roles=frozenset({Role.ADMIN_AGENT}))
REQUEST_REFUND = Permission("request refunds", partner_roles=frozenset({Role.ADMIN_AGENT}))
RESOLVE_REFUND = Permission("resolve refund requests", support=True)
#: R11: refund requests hold contact details, so not every partner user lists them.
LIST_REFUNDS = Permission(
    "list refund requests",
    partner_roles=frozenset(
        {Role.ADMIN_AGENT, Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.AUDITOR}
    ),
    support=True,
    vendor_auditor=True,
)
#: Any partner user (its own partner's orders), and the tenant's customer global admin.
SOFTWARE = Permission(
    "read the software list",
    any_partner_user=True,
    customer_roles=frozenset({Role.GLOBAL_ADMIN}),
    vendor_auditor=True,
)
#: R5: not an admin agent alone.
ACTIVITY_LOG = Permission(
    "read the activity log",
    partner_roles=frozenset(
        {
            Role.GLOBAL_ADMIN,
            Role.ACCOUNT_ADMIN,
            Role.REFERRAL_ADMIN,
            Role.MARKETING_CONTENT_ADMIN,
            Role.AUDITOR,
        }
    ),
)
MONTHLY_CREDITS = Permission(
    "read monthly credits",
    partner_roles=frozenset(
        {Role.GLOBAL_ADMIN, Role.ACCOUNT_ADMIN, Role.ADMIN_AGENT, Role.AUDITOR}
    ),
)
#: The billing roles (feed, webhooks, what-if): the credits' readers but the auditor.
BILLING_ROLES = MONTHLY_CREDITS.partner_roles - {Role.AUDITOR}


#: SPEC §10: a what-if prices a partner's orders as the credits do (the vendor's support: all).
WHAT_IF = Permission(
    "replay orders under a candidate policy",
    partner_roles=MONTHLY_CREDITS.partner_roles,
    support=True,
    vendor_auditor=True,
)

#: SPEC §9: the billing roles read their partner's integration feed (and its auditor).
FEED = Permission("read the integration feed", partner_roles=MONTHLY_CREDITS.partner_roles)
#: SPEC §9: webhook endpoints receive the same items; managing them is a write.
MANAGE_WEBHOOKS = Permission("manage webhook endpoints", partner_roles=BILLING_ROLES)

#: R21: the whole history of every partner (the events export, as-of, evidence packs).
AUDIT_HISTORY = Permission("read the whole history", vendor_auditor=True)
#: R21: one partner's records as they stand or stood (as-of views, exports of the views).
AUDIT_RECORDS = Permission(
    "audit a partner's records", partner_roles=AUDIT_ROLES, vendor_auditor=True
)


def can_see(actor: Actor, partner_id: str, tenant_id: UUID) -> bool:
    """R11: partners see their own customers' things, customers their own tenant's."""
    if actor.sees_every_partner:
        return True
    if actor.partner_id is not None:
        return actor.partner_id == partner_id
    return actor.tenant_id == tenant_id


def can_see_tenant(actor: Actor, registered_by: Collection[str], tenant_id: UUID) -> bool:
    """R11: a partner sees a tenant it registered itself; its customer users see it too."""
    if actor.sees_every_partner:
        return True
    if actor.partner_id is not None:
        return actor.partner_id in registered_by
    return actor.tenant_id == tenant_id


#: The columns of the role × action table: a kind of actor, and one actor of that kind. The
#: first eight are partner users of the owning partner with that one role (or none).
_TENANT = UUID(int=1)
TABLE_COLUMNS: tuple[tuple[str, Actor], ...] = (
    *((role.value, Actor(user="x", roles={role}, partner_id="P")) for role in PARTNER_ROLES),
    ("no role", Actor(user="x", roles=set(), partner_id="P")),
    ("customer GLOBAL_ADMIN", Actor(user="x", roles={Role.GLOBAL_ADMIN}, tenant_id=_TENANT)),
    (
        "customer, other roles",
        Actor(user="x", roles=set(PARTNER_ROLES) - {Role.GLOBAL_ADMIN}, tenant_id=_TENANT),
    ),
    ("vendor SUPPORT", Actor(user="x", roles={Role.SUPPORT})),
    ("vendor AUDITOR", Actor(user="x", roles={Role.AUDITOR})),
)


def markdown_table(permissions: Mapping[str, Permission]) -> str:
    """The role × action table of docs/rules.md, worked out by asking each permission
    (``permissions``: `ledger.application.commands.PERMISSIONS`, by `Ledger` method)."""
    header = ["`Ledger` method", *(name for name, _ in TABLE_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, permission in permissions.items():
        cells = ["✓" if permission.allows(actor) else "–" for _, actor in TABLE_COLUMNS]
        lines.append(f"| `{method}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

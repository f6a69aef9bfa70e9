"""Views added by a later release: found missing once, then rebuilt from the log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.aggregates import Tenant
from ledger.projections import customer_list
from ledger.projections.sql import Query

#: The views a release added after stores already held history, each with the topic of
#: an event it always writes a row for (a customer's first registration comes before
#: any order, so it is near the start of every real log).
NEWER_VIEWS: tuple[tuple[str, Sequence[str]], ...] = (
    ("ledger_customers", customer_list.TOPICS),
    ("ledger_feed", (Tenant.Added.TOPIC,)),
)


def missing_history(query: Query, recorder: Any, views_position: int) -> str | None:
    """The first view built after its history was applied (its rows are missing), if any.

    For each view: the first event in the log it writes a row for (a scan that stops
    there) and, if the views have applied that event, its row (an indexed read).
    """
    if views_position == 0:
        return None
    if not query("SELECT 1 AS found FROM {ledger_audit_tree} WHERE leaf_index = 0", ()):
        return "ledger_audit_tree"
    for table, topics in NEWER_VIEWS:
        first = recorder.select_notifications(start=None, limit=1, topics=list(topics))
        if not first or first[0].id > views_position:
            continue
        found = query(f"SELECT 1 AS found FROM {{{table}}} WHERE position = ?", (first[0].id,))
        if not found:
            return table
    return None

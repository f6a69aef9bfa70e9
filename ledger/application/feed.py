"""The integration feed (SPEC §9): a partner's events after a cursor, a page at a time."""

from __future__ import annotations

from collections.abc import Iterable

from ledger import _validate
from ledger.application.commands import Call, read
from ledger.application.core import LedgerCore
from ledger.errors import InvalidInput
from ledger.policies import access
from ledger.projections import feed
from ledger.values import FeedPage

__all__ = ["FeedQueries", "MAX_FEED_PAGE"]

MAX_FEED_PAGE = 1000


def cursor(field: str, value: object) -> str | None:
    """A cursor this feed handed out, or None (the start of the log)."""
    if value is not None and not (isinstance(value, str) and feed.is_cursor(value)):
        raise InvalidInput(field, "must be a cursor this feed returned (next_cursor or an item's)")
    return value


def limit(field: str, value: object) -> int:
    return _validate.integer(field, value, minimum=1, maximum=MAX_FEED_PAGE)


def types(field: str, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    wanted = _validate.tuple_of(field, value, str, shape="a list of feed item types")
    unknown = sorted(set(wanted) - set(feed.FEED_TYPES))
    if unknown or not wanted:
        raise InvalidInput(
            field,
            f"{', '.join(map(repr, unknown)) or 'nothing'} given; known types: "
            + ", ".join(feed.FEED_TYPES),
        )
    return wanted


class FeedQueries(LedgerCore):
    @read(
        access.FEED,
        checks={"after": cursor, "limit": limit, "types": types},
        logged=("after", "limit"),
    )
    def feed(
        self,
        call: Call[None],
        after: str | None = None,
        limit: int = 100,
        types: Iterable[str] | None = None,
    ) -> FeedPage:
        """The actor's partner's items after ``after`` (a cursor), oldest first (SPEC §9).

        No gaps and no duplicates while other processes write: the feed is read from
        the views, which apply the log in commit order (docs/integration.md).
        """
        position = 0 if after is None else feed.position_of(after)
        items = feed.page(self._views_ready(), call.partner_id, position, limit, types)
        call.context["rows"] = len(items)
        next_cursor = items[-1].cursor if items else feed.cursor_for(position)
        return FeedPage(items=items, next_cursor=next_cursor)

"""Output: a table for people, JSON or CSV for programs (``--format``).

JSON is exactly the values' ``to_dict()`` (§8), or a list of them. CSV is one
row per value with a header; a nested mapping (a `Money`) becomes one column
per key (``total.amount``, ``total.currency``) and a list a JSON text. A table
shows the columns a person needs (``COLUMNS``); JSON and CSV show every field.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from ledger._json import json_value
from ledger.audit.what_if import WhatIfReport, WhatIfRow
from ledger.values import (
    ActivityEntry,
    CreditLine,
    CreditStatement,
    Customer,
    RefundRequest,
    SoftwareItem,
)

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv")

#: The columns a table shows, per kind of value in a list; other kinds show every field.
COLUMNS: dict[type, tuple[str, ...]] = {
    Customer: ("tenant_id", "domain", "name", "market"),
    SoftwareItem: (
        "order_id",
        "title",
        "quantity",
        "total",
        "status",
        "key_available",
        "cancellable_until",
    ),
    ActivityEntry: ("position", "at", "user", "action", "title", "order_id"),
    RefundRequest: (
        "refund_id",
        "order_id",
        "status",
        "amount",
        "approved_amount",
        "requested_by",
        "requested_at",
    ),
}
_CREDIT_COLUMNS = ("issued_at", "order_id", "tenant_id", "reason", "amount")


def _cell(value: Any) -> str:
    """One table or CSV cell: money as "10.00 EUR", lists as JSON, None as nothing."""
    if isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _flat(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A CSV row: nested mappings spread into dotted columns, lists kept as JSON text."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            flat[f"{prefix}{key}"] = json.dumps(value)
        elif isinstance(value, bool):
            flat[f"{prefix}{key}"] = "true" if value else "false"
        else:
            flat[f"{prefix}{key}"] = "" if value is None else value
    return flat


def _money_fields(kind: type | None) -> set[str]:
    """The fields of ``kind`` that hold `Money` (or None), shown as two columns each."""
    return {
        name
        for name, field in getattr(kind, "__dataclass_fields__", {}).items()
        if "Money" in str(field.type) and "dict" not in str(field.type)
    }


def _csv_columns(kind: type | None, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The header: the rows' columns in the order of the kind's fields, and a `Money` field's
    two columns even where it is None (an empty list still has its header)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    columns: dict[str, None] = {}
    money = _money_fields(kind)
    for name in getattr(kind, "__dataclass_fields__", {}):
        if name in money:
            columns.update(dict.fromkeys([f"{name}.amount", f"{name}.currency"]))
        elif name in seen or not rows:
            columns[name] = None
        columns.update(dict.fromkeys(key for key in seen if key.startswith(f"{name}.")))
    columns.update(seen)
    return list(columns)


def _write_csv(rows: Sequence[Mapping[str, Any]], kind: type | None = None) -> None:
    money = _money_fields(kind)
    # A `Money` field that is None has its two columns, left empty, not a column of its own.
    flat = [{key: value for key, value in _flat(row).items() if key not in money} for row in rows]
    writer = csv.DictWriter(
        sys.stdout, fieldnames=_csv_columns(kind, flat), restval="", lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(flat)


#: Columns of a table written to a file or a pipe (a terminal gives its own width).
PIPED_WIDTH = 160


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else PIPED_WIDTH)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str = "") -> Table:
    table = Table(title=title or None)
    for column in columns:
        # Folded, never cut: an id cut short with "…" could not be copied into the next command.
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    return table


def show(value: Any, format: Format, *, kind: type | None = None, title: str = "") -> None:
    """A value, or a list of values of ``kind`` (named so that an empty list has a header)."""
    if isinstance(value, CreditStatement):
        _show_statement(value, format, title)
        return
    if isinstance(value, WhatIfReport):
        _show_what_if(value, format)
        return
    data = json_value(value)
    if format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not isinstance(data, list):
        if format == "csv":
            _write_csv([data], type(value))
            return
        console = _console()
        for key, cell in data.items():
            console.print(f"[bold]{key}[/bold]: {_cell(cell)}")
        return
    kind = kind or (type(value[0]) if value else None)
    if format == "csv":
        _write_csv(data, kind)
        return
    columns = COLUMNS.get(kind, ()) if kind else ()
    columns = columns or (tuple(data[0]) if data else ("(none)",))
    _console().print(_table(data, columns, title))


def _show_statement(statement: CreditStatement, format: Format, title: str) -> None:
    """Monthly credits: JSON is the statement; CSV its lines; a table its lines and totals."""
    data = statement.to_dict()
    if format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if format == "csv":
        _write_csv(data["lines"], CreditLine)
        return
    table = _table(data["lines"], _CREDIT_COLUMNS, title or f"Credits {statement.month}")
    for currency, total in data["totals"].items():
        table.add_row("", "", "", f"total {currency}", _cell(total))
    _console().print(table)


_WHAT_IF_COLUMNS = (
    "order_id",
    "purchased_at",
    "deadline",
    "candidate_deadline",
    "cancelled_at",
    "credit",
    "candidate_credit",
    "change",
)


def _show_what_if(report: WhatIfReport, format: Format) -> None:
    """JSON is the report; CSV its rows; a table the rows, then the totals per currency."""
    data = report.to_dict()
    if format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if format == "csv":
        _write_csv(data["rows"], WhatIfRow)
        return
    console = _console()
    console.print(_table(data["rows"], _WHAT_IF_COLUMNS, f"What if {report.policy_id}"))
    changes = ", ".join(f"{change} {count}" for change, count in report.changes.items())
    console.print(f"{len(report.rows)} orders: {changes}")
    totals = data["totals"].values()
    console.print(_table(list(totals), ("currency", "actual", "candidate", "difference"), "Totals"))


def show_scalar(name: str, value: Any, format: Format) -> None:
    """One plain result (an order id, a key, a deadline): the text alone in a table."""
    data = json_value(value)
    if format == "json":
        print(json.dumps(data))
    elif format == "csv":
        _write_csv([{name: data}])
    else:
        print(data)

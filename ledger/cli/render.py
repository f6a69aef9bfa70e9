"""Output: a table for people, JSON or CSV for programs (``--format``)."""

from __future__ import annotations

import csv
import dataclasses
import enum
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from rich.console import Console
from rich.table import Table

from ledger.money import Money

Format = Literal["table", "json", "csv"]


def plain(value: Any) -> Any:
    """JSON-ready: ``to_dict()`` where a value has one, else its fields, converted."""
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _cell(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


def show(value: Any, format: Format) -> None:
    """One value (a mapping of fields) or a list of them."""
    data = plain(value)
    if format == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    rows = data if isinstance(data, list) else [data]
    if format == "csv":
        columns = list(rows[0]) if rows else []
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return
    console = Console()
    if not isinstance(data, list):
        for key, cell in data.items():
            console.print(f"[bold]{key}[/bold]: {_cell(cell)}", highlight=False)
        return
    table = Table(*(list(rows[0]) if rows else ["(none)"]))
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    console.print(table)


def table_of(rows: Sequence[Any], format: Format) -> None:
    show(list(rows), format)

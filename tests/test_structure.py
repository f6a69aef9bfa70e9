"""The shape of the code that issue "Commands declared once" promised, held by tests.

* No module of ``ledger/`` is over 450 lines.
* Every public command and query of the facade is a declared body of at most 15 lines.
* No import runs from a lower layer up to a higher one.
* ``Order.Purchased``'s fields and the software view's columns cannot drift apart.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from uuid import UUID

import pytest

from ledger import Ledger, Money, ProductKind
from ledger.aggregates import Order
from ledger.aggregates.order import FINGERPRINT_FIELDS, OrderRequest
from ledger.application.commands import PERMISSIONS
from ledger.projections import software_list
from tests.support import product

PACKAGE = Path(__file__).resolve().parents[1] / "ledger"
FACADE = PACKAGE / "application"
MAX_MODULE_LINES = 450
MAX_BODY_LINES = 15
DECLARATIONS = {"command", "read", "query"}

#: From the bottom up: a module may import only from its own layer or those before it.
LAYERS = (
    {"errors", "_json", "_validate", "_signatures", "logging", "countries", "money"},
    {"merkle", "digests", "sealing"},
    {"values", "faults", "stores", "keyring", "logs"},
    {"policies"},
    {"aggregates", "mapper", "keys", "keyfiles", "eventstore"},
    {"projections"},
    {"audit", "roles"},
    {"application"},
    {"webhooks"},
    {"testing", "cli"},
)


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    for number, names in enumerate(LAYERS):
        if top in names:
            return number
    return len(LAYERS)  # ledger/__init__.py: the top


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_450_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines"


def _declared_bodies() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in sorted(FACADE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            names = {
                d.func.id
                for d in node.decorator_list
                if isinstance(d, ast.Call) and isinstance(d.func, ast.Name)
            }
            if names & DECLARATIONS:
                found.append((path.name, node))
    return found


def test_every_command_and_query_is_declared_and_short() -> None:
    bodies = _declared_bodies()
    assert {node.name for _, node in bodies} == set(PERMISSIONS)
    for module, node in bodies:
        statements = node.body
        if isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant):
            statements = statements[1:]  # the docstring
        first, last = statements[0].lineno, statements[-1].end_lineno
        assert last is not None
        assert last - first + 1 <= MAX_BODY_LINES, f"{module}: {node.name} is {last - first + 1}"


def test_every_permission_guards_a_public_method_of_the_facade() -> None:
    for name in PERMISSIONS:
        assert callable(getattr(Ledger, name)), name


def test_no_import_runs_up_a_layer() -> None:
    upward = []
    for path in _modules():
        module = "ledger." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("ledger")
            ):
                imported = node.module
                if node.module == "ledger":
                    name = node.names[0].name
                    # `from ledger import Actor`: the public face, the facade's layer.
                    submodule = (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").exists()
                    imported = f"ledger.{name}" if submodule else "ledger.application"
                if _layer(imported) > _layer(module):
                    upward.append(f"{module} -> {imported}")
    assert upward == []


def test_every_purchased_field_is_a_software_column_or_named_as_not_shown() -> None:
    fields = set(Order.Purchased.model_fields)
    columns = {name for name, _, _ in software_list.COLUMNS}
    unplaced = fields - columns - software_list.PURCHASE_FIELDS_NOT_SHOWN
    assert unplaced == set(), f"add {sorted(unplaced)} to the software view or to NOT_SHOWN"
    stale = software_list.PURCHASE_FIELDS_NOT_SHOWN - fields
    assert stale == set(), f"{sorted(stale)} are no fields of Order.Purchased"
    assert len(software_list.COLUMNS) == software_list.DDL[0].count(",") + 1


def test_the_fingerprint_is_made_of_exactly_its_fields() -> None:
    """Every `FINGERPRINT_FIELDS` path names a field of the request; changing any one
    changes the fingerprint (and nothing else is in it: the key is not)."""
    base = OrderRequest(UUID(int=7), product(ProductKind.SUBSCRIPTION, 30), 2, Money("1.00", "EUR"))
    assert len(set(FINGERPRINT_FIELDS)) == len(FINGERPRINT_FIELDS) == 13
    keyed = OrderRequest(**{**base.__dict__, "idempotency_key": "po-1"})
    assert keyed.fingerprint == base.fingerprint
    changed = OrderRequest(**{**base.__dict__, "quantity": 3})
    assert changed.fingerprint != base.fingerprint


def test_the_how_to_add_a_command_example_is_the_code() -> None:
    decisions = (PACKAGE.parent / "docs" / "decisions.md").read_text()
    section = decisions.split("### How to add a command", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = textwrap.dedent(example)
    source = (FACADE / "orders.py").read_text()
    assert textwrap.indent(code, "    ") in source

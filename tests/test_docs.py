"""The docs say what the code does: generated tables, signatures, runnable snippets.

``UPDATE_DOCS=1 pytest tests/test_docs.py`` (``make docs``) rewrites the generated
blocks of docs/rules.md instead of failing.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ledger
import ledger.audit
import ledger.logging
from ledger import Actor, Ledger
from ledger.application.commands import PERMISSIONS
from ledger.audit import Audit
from ledger.audit.replay import HistoricalViews
from ledger.policies import access
from ledger.policies.markets import AZURE_RESERVATION_UNAVAILABLE
from tests import test_r11_isolation_matrix as matrix

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "rules.md"
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
UPDATE = os.environ.get("UPDATE_DOCS") == "1"


def generated_block(path: Path, marker: str, made: str) -> None:
    """The text between ``<!-- {marker}...-->`` and ``<!-- end of {marker} -->`` is ``made``."""
    text = path.read_text()
    pattern = re.compile(rf"(<!-- {marker}[^\n]*-->\n)(.*?)(<!-- end of {marker} -->)", re.S)
    found = pattern.search(text)
    assert found, f"{path.name} has no {marker} block"
    if found.group(2) != made and UPDATE:
        path.write_text(text[: found.start(2)] + made + text[found.end(2) :])
        return
    assert found.group(2) == made, (
        f"{path.name}: the {marker} block differs from the code; run `make docs`"
    )


def test_docs_rules_role_table_is_the_one_the_code_makes() -> None:
    generated_block(RULES, "roles table", access.markdown_table(PERMISSIONS))


def test_docs_rules_market_list_is_the_code_s() -> None:
    made = textwrap.fill(" ".join(sorted(AZURE_RESERVATION_UNAVAILABLE)), 96) + "\n"
    generated_block(RULES, "markets", made)


def test_docs_permissions_agree_with_the_isolation_matrix() -> None:
    """What the table says each role may do is what the facade lets each actor do (R11)."""
    checked = 0
    for command, row in matrix.MATRIX.items():
        if command.startswith("audit."):
            continue  # the audit calls are not `Ledger` methods: R21's rows, not the table's
        permission = PERMISSIONS[command.split()[0]]
        for who, actor in matrix.ACTORS.items():
            if who in row.not_found:
                continue
            assert permission.allows(actor) == (who in row.allowed), (command, who)
            checked += 1
    assert checked > 150


def test_docs_rules_cover_every_rule_and_every_permission() -> None:
    text = RULES.read_text()
    for number in range(1, 19):
        assert re.search(rf"^## R{number} ", text, re.M), f"docs/rules.md has no R{number}"
    for method in PERMISSIONS:
        assert f"`{method}`" in text


def test_docs_point_at_docs_rules_not_at_a_spec_users_do_not_have() -> None:
    for path in [*USER_DOCS, *sorted((ROOT / "examples").glob("*.py"))]:
        assert "SPEC" not in path.read_text(), f"{path.name} mentions SPEC"
    readme = (ROOT / "README.md").read_text()
    assert "(docs/rules.md)" in readme
    first_lines = readme.split("```")[1].strip().splitlines()
    assert [line.split()[:2] for line in first_lines] == [
        ["sh"],
        ["make", "demo"],
        ["make", "test"],
    ]


# -- docs/decisions.md: every signature as the code declares it ----------------------------

TARGETS: dict[str, Callable[[str], Any]] = {
    "Ledger.": lambda name: getattr(Ledger, name),
    "led.audit.": lambda name: getattr(Audit, name),
    "led.": lambda name: getattr(Ledger, name),
    "then.": lambda name: getattr(HistoricalViews, name),
    "ledger.audit.": lambda name: getattr(ledger.audit, name),
    "ledger.logging.": lambda name: getattr(ledger.logging, name),
    "ledger.": lambda name: getattr(ledger, name),
}


def documented_signatures() -> list[str]:
    text = (ROOT / "docs" / "decisions.md").read_text()
    block = text.split("## Facade signatures", 1)[1].split("```python\n", 1)[1].split("```")[0]
    entries: list[str] = []
    current = ""
    for line in block.splitlines():
        code = line.split("#", 1)[0].rstrip()
        if not code.strip():
            continue
        current = f"{current} {code.strip()}" if current else code.strip()
        if current.count("(") == current.count(")"):
            entries.append(current)
            current = ""
    assert not current, f"unbalanced: {current}"
    return entries


def _parameters(node: ast.arguments) -> list[tuple[str, str, object]]:
    positional = [*node.posonlyargs, *node.args]
    defaults: list[Any] = [inspect.Parameter.empty] * (len(positional) - len(node.defaults)) + list(
        node.defaults
    )
    found = [
        (arg.arg, "positional", _value(default))
        for arg, default in zip(positional, defaults, strict=True)
    ]
    found += [
        (arg.arg, "keyword", _value(default))
        for arg, default in zip(node.kwonlyargs, node.kw_defaults, strict=True)
    ]
    return found


def _value(node: Any) -> object:
    if node is None or node is inspect.Parameter.empty:
        return inspect.Parameter.empty
    return ast.literal_eval(node)


def test_docs_decisions_signatures_are_the_code_s() -> None:
    entries = documented_signatures()
    assert len(entries) >= 39
    for entry in entries:
        call, _, returns = entry.partition(" -> ")
        name, _, arguments = call.partition("(")
        prefix = next(p for p in TARGETS if name.startswith(p))
        target = TARGETS[prefix](name[len(prefix) :])
        parsed = ast.parse(f"def f({arguments[:-1]}) -> {returns}: pass").body[0]
        assert isinstance(parsed, ast.FunctionDef)
        signature = inspect.signature(target)
        actual = [
            (
                p.name,
                "keyword" if p.kind is inspect.Parameter.KEYWORD_ONLY else "positional",
                p.default,
            )
            for p in signature.parameters.values()
            if p.name != "self"
        ]
        assert _parameters(parsed.args) == actual, entry
        assert returns.strip() == str(signature.return_annotation).strip("'"), entry


# -- code blocks the docs say run ----------------------------------------------------------


def runnable_blocks() -> list[tuple[str, str]]:
    blocks = []
    for path in USER_DOCS:
        text = path.read_text()
        for found in re.finditer(r"<!-- test: runs -->\n```python\n(.*?)```", text, re.S):
            line = text[: found.start()].count("\n") + 2
            blocks.append((f"{path.name}:{line}", found.group(1)))
    return blocks


def test_docs_mark_the_readme_library_snippet_as_runnable() -> None:
    names = [name for name, _ in runnable_blocks()]
    assert any(name.startswith("README.md") for name in names)
    assert any(name.startswith("logging.md") for name in names)


@pytest.mark.parametrize(("where", "code"), runnable_blocks(), ids=lambda v: str(v)[:20])
def test_docs_snippet_runs(where: str, code: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{where}:\n{done.stderr}"


def test_docs_actor_is_what_the_table_columns_say() -> None:
    kinds = dict(access.TABLE_COLUMNS)
    assert kinds["vendor SUPPORT"].is_support
    assert isinstance(kinds["no role"], Actor)
    assert not kinds["no role"].roles

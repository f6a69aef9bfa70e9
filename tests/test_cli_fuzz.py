"""The command line, fuzzed: every command with generated options, values and actors.

Each example builds one ``ledger ...`` argument list: some global options (a
store URL, a format, an actor made of real and made-up names and roles), one
command of the whole tree, and for its options and arguments a value drawn for
their type: real ids of the store next to malformed ones, huge and negative
numbers, text with control characters, paths to the store's own files and to
places that do not exist, options left out or given twice, unknown ones. The
command must end with an exit code (0 or the documented ones), never with a
raw exception or a traceback. Under ``CI=true`` it runs 2,400 inputs.

Left out: ``views follow`` and ``webhooks deliver`` (they run until stopped)
and ``feed --follow``; their options are checked by the same parser.
"""

from __future__ import annotations

import base64
import os
import typing
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli import app
from ledger.cli.errors import EXIT_CODES
from tests.conftest import IN_CI
from tests.support import AGENT, QUIET, ManualClock, support, tenant_with_order

EXAMPLES = 2400 if IN_CI else 300
SECRET = os.urandom(32)
RUNS_UNTIL_STOPPED = {("views", "follow"), ("webhooks", "deliver")}
#: Every exit the command line documents: 0, usage 2, and one per error class.
DOCUMENTED_EXITS = {0, 1, 2, *(code for _, code in EXIT_CODES), 7}


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        elif path not in RUNS_UNTIL_STOPPED:
            yield path, command

    return sorted(walk(typer.main.get_command(app), ()), key=lambda found: found[0])


COMMANDS = _commands()


@dataclass
class Store:
    url: str
    folder: Path
    tenant: str
    order: str
    files: tuple[str, ...]
    seen: Counter[int] = field(default_factory=Counter)
    calls: int = 0


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("cli-fuzz")
    database = folder / "ledger.db"
    with Ledger.open(
        f"sqlite:///{database}", secret_key=SECRET, clock=ManualClock(), logger=QUIET
    ) as led:
        tenant_id, order_id = tenant_with_order(led)
        led.refunds(support())
        led.software(AGENT, tenant_id)
    files = (str(database), f"{database}.key", f"{database}-wal")
    return Store(f"sqlite:///{database}", folder, str(tenant_id), str(order_id), files)


JUNK_TEXT = st.one_of(
    st.sampled_from(
        ["", " ", "-", "--", "x" * 5000, "€", "\u202e", "a\x00b", "null", "NaN", "-1", "1e309"]
    ),
    st.text(max_size=30),
)
NUMBERS = st.sampled_from(["0", "-1", "1", "100", "10001", "99999999999999999999", "1.5", "x"])
FLOATS = st.sampled_from(["0", "-1", "0.01", "nan", "inf", "-inf", "1e309", "3600.5", "x"])
ROLE_NAMES = st.sampled_from(
    ["ADMIN_AGENT", "GLOBAL_ADMIN", "AUDITOR", "SUPPORT", "SALES_AGENT", "admin_agent", "ROOT", ""]
)
DATES = st.sampled_from(
    [
        "2026-11-01",
        "2026-11-30T23:59:59Z",
        "2026-13-01",
        "2026-11-30T10:00",
        "yesterday",
        "0001-01-01",
        "9999-12-31T23:59:59+14:00",
        "2026-11",
    ]
)
#: A value each text option accepts, by its parameter's name (else any short text).
GOOD_TEXT = {
    "kind": "PERPETUAL",
    "market": "NL",
    "unit_price": "249.00 EUR",
    "amount": "5.00 EUR",
    "domain": "fuzz.example",
    "contact_email": "ann@p1.example",
    "contact_phone": "+31 20 123 4567",
    "url": "https://billing.example/hook",
    "partner": "P1",
    "version": "2024",
    "language": "en-US",
    "activation": "MAK",
    "policy": "ledger.policies.cancellation:CancellationPolicy",
}
ACTORS = (
    ("--as", "ann", "--role", "ADMIN_AGENT", "--partner", "P1"),
    ("--as", "gail", "--role", "GLOBAL_ADMIN", "--partner", "P1"),
    ("--as", "vera", "--role", "AUDITOR"),
    ("--as", "sam", "--role", "SUPPORT"),
    ("--as", "zed", "--role", "SALES_AGENT", "--partner", "P2"),
)
MONTHS = st.sampled_from(["2026-11", "2026-13", "26-11", "2026-1", "", "9999-12"])


def _uuids(store: Store) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([store.tenant, store.order, str(UUID(int=0)), "not-a-uuid", ""]),
        st.builds(lambda: str(uuid4())),
    )


def _paths(store: Store) -> st.SearchStrategy[str]:
    folder = str(store.folder)
    return st.sampled_from(
        [
            *store.files,  # an export must never write over these
            f"{folder}/out.jsonl",
            f"{folder}/out.csv",
            f"{folder}/missing/dir/out.jsonl",
            f"{folder}/{'x' * 300}",
            folder,
            f"{folder}/pack",
            "",
        ]
    )


def _values(store: Store, parameter: Any) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """Values the parameter accepts, and values it must refuse (as its type, or its rule)."""
    annotation = parameter.type_descriptor.annotation
    name = parameter.name or ""
    if annotation is UUID:
        return st.sampled_from([store.tenant, store.order]), _uuids(store)
    if annotation is int:
        return st.sampled_from(["1", "2", "64", "10"]), NUMBERS
    if annotation is float:
        return st.sampled_from(["0.01", "1"]), FLOATS
    if annotation is Path:
        return st.sampled_from([f"{store.folder}/out.jsonl", f"{store.folder}/pack"]), _paths(store)
    if "month" in name:
        return st.just("2026-11"), st.one_of(MONTHS, JUNK_TEXT)
    if name in {"start", "end", "activated", "moment"} or "from" in (parameter.opts or [""])[0]:
        return st.sampled_from(["2026-11-01", "2026-12-31T00:00:00Z"]), st.one_of(DATES, JUNK_TEXT)
    if typing.get_origin(annotation) is list:
        return st.sampled_from(["en-US", "64", "2024"]), st.one_of(ROLE_NAMES, NUMBERS, JUNK_TEXT)
    good = st.just(GOOD_TEXT.get(name, "Office 2024"))
    return good, st.one_of(st.sampled_from(["-5 EUR", "1E+1000000 EUR", "1 XXX"]), JUNK_TEXT)


@st.composite
def arguments(draw: st.DrawFn, store: Store) -> list[str]:
    args: list[str] = []
    args += ["--url", draw(st.sampled_from([store.url] * 8 + ["memory://", "sqlite:///", "x://y"]))]
    if draw(st.booleans()):
        args += ["--format", draw(st.sampled_from(["table", "json", "csv"] * 3 + ["xml"]))]
    if draw(st.integers(0, 3)) < 3:  # hypothesis favours 0: the common case goes there
        args += draw(st.sampled_from(ACTORS))  # someone real, half the time allowed
    else:  # a made-up actor: junk names, roles and ids
        if draw(st.booleans()):
            args += ["--as", draw(JUNK_TEXT)]
        for _ in range(draw(st.integers(0, 2))):
            args += ["--role", draw(ROLE_NAMES)]
        if draw(st.booleans()):
            args += ["--partner", draw(JUNK_TEXT)]
        if draw(st.booleans()):
            args += ["--tenant-of-actor", draw(_uuids(store))]
    path, command = draw(st.sampled_from(COMMANDS))
    if path[:2] == ("audit", "as-of"):
        args += ["audit", "as-of", draw(st.one_of(DATES, JUNK_TEXT)), path[2]]
    else:
        args += list(path)
    parameters = [p for p in command.params if p.name not in ("help", "follow")]
    # One parameter gets a bad value (or none does), so that the rest get past their checks.
    broken = draw(st.integers(-1, len(parameters) - 1)) if parameters else -1
    for number, parameter in enumerate(parameters):
        if number != broken and draw(st.integers(0, 9)) == 9:
            continue  # left out now and then, required or not
        good, bad = _values(store, parameter)
        value = draw(bad if number == broken else good)
        if not parameter.opts or not parameter.opts[0].startswith("-"):
            args.append(value)  # a positional argument
        elif getattr(parameter, "is_flag", False):
            args.append(parameter.opts[0])
        else:
            args += [parameter.opts[0], value] * draw(st.sampled_from([1, 1, 1, 2]))
    if draw(st.integers(0, 9)) == 9:
        args.insert(draw(st.integers(0, len(args))), draw(st.sampled_from(["--bogus", "-x", "--"])))
    return args


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_every_command_ends_with_a_documented_exit_code_never_a_raw_exception(
    store: Store, request: pytest.FixtureRequest
) -> None:
    key = base64.b64encode(SECRET).decode()
    environment = {
        "LEDGER_SECRET_KEY": key,
        "LEDGER_USER": None,
        "LEDGER_ROLES": None,
        "LEDGER_PARTNER": None,
        "LEDGER_TENANT_OF_ACTOR": None,
        "LEDGER_URL": None,
    }
    raw: list[tuple[list[str], BaseException]] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        args = data.draw(arguments(store))
        result = CliRunner().invoke(app, args, env=environment)
        store.calls += 1
        store.seen[result.exit_code] += 1
        error = result.exception
        if error is not None and not isinstance(error, SystemExit):
            raw.append((args, error))
        assert "Traceback" not in result.output, args
        assert result.exit_code in DOCUMENTED_EXITS, (args, result.exit_code, result.output)

    run()
    assert raw == [], "\n".join(f"{args} → {error!r}" for args, error in raw)
    assert store.calls >= EXAMPLES
    with Ledger.open(store.url, secret_key=SECRET, logger=QUIET) as led:
        assert led.audit.verify().ok, "the store is intact, its own files never written over"
    exits = ", ".join(f"exit {code}: {count}" for code, count in sorted(store.seen.items()))
    request.node.user_properties.append(
        ("fuzz", f"command line: {store.calls} generated inputs, 0 raw exceptions ({exits})")
    )

"""Commands and queries declared once: `command`, `read` and `query` wrap a short body.

A facade method is written as the decision it makes::

    @command(access.CANCEL, sees=ORDER_AND_LICENCE, checks={"order_id": _validate.uuid})
    def cancel(self, call: Call[tuple[Order, Licence]], order_id: UUID) -> Cancellation:
        order, licence = call.seen
        cancellation = cancel_order(order, licence, self._policies, call.user, call.now())
        self._uow.save(order, licence)
        return cancellation

and the declaration does the rest, in this order, the same for every command:

1. database failures become `StoreUnavailable` (`faults.guarded`);
2. the actor and each argument named in ``checks`` are checked (`InvalidInput`
   naming the field; nothing is loaded or written before);
3. one log line (``ledger.command`` for commands, ``ledger.read`` for reads)
   with the arguments named in ``logged`` and the outcome;
4. an attempt: ``sees`` loads what the actor must be able to see (R11: else
   "not found"), then the permission is checked (`AccessDenied`, recorded in the
   store's trail, R21), then the body;
5. commands only: when a racing writer wins (eventsourcing's ``IntegrityError``)
   the attempt runs again from fresh state (R13), at most `MAX_WRITE_ATTEMPTS` times.

The method's name is the command's name: the log line's ``command``, the key
of `PERMISSIONS` (so the docs' role table is made from the commands themselves).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, Generic, Literal, ParamSpec, Protocol, TypeVar
from uuid import UUID, uuid4

from ledger._signatures import spelled_out
from ledger.application import inputs
from ledger.application.unit_of_work import UnitOfWork
from ledger.errors import AccessDenied
from ledger.faults import guarded
from ledger.policies.access import Permission
from ledger.values import Actor

__all__ = ["PERMISSIONS", "Call", "Check", "Sight", "command", "query", "read"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
C = TypeVar("C", bound="Core")

#: Checks one argument: ``(field name, value) → the value to use``, or `InvalidInput`.
Check = Callable[[str, Any], Any]
Kind = Literal["command", "read", "query"]

#: Every command and query, by the `Ledger` method it is, in the order they were declared.
PERMISSIONS: dict[str, Permission] = {}


class Core(Protocol):
    """What a declared command needs of the facade (`ledger.application.core.LedgerCore`)."""

    @property
    def _uow(self) -> UnitOfWork: ...

    def _read(
        self, query: str, actor: Actor, **context: Any
    ) -> AbstractContextManager[dict[str, Any]]: ...

    def _refused(self, actor: Actor, call: str, reason: str) -> None: ...


@dataclass(frozen=True)
class Sight(Generic[S]):
    """What a command acts on, loaded as the actor may see it (else "not found", R11)."""

    #: The argument that names it (``"order_id"``).
    argument: str
    load: Callable[[Any, Actor, Any], S]


@dataclass(slots=True)
class Call(Generic[S]):
    """One attempt of a command as its body sees it."""

    core: Core
    actor: Actor
    #: What ``sees`` loaded for this attempt (None when the command declares no sight).
    seen: S
    #: The log line's fields: a body may add to them (an order id, a row count).
    context: dict[str, Any]
    #: 1 for the first attempt, 2 after a racing writer won once, ...
    attempt: int = 0
    _new_id: UUID | None = None
    #: When an attempt of this call wrote its new aggregate (a purchase: its order), so
    #: that a later attempt finding it can tell its own lost commit from a replay.
    wrote_at: datetime | None = None

    @property
    def user(self) -> str:
        return self.actor.user

    @property
    def partner_id(self) -> str:
        """The actor's partner: only for commands whose permission admits partner users alone."""
        assert self.actor.partner_id is not None, "the permission admits partner users only"
        return self.actor.partner_id

    def now(self) -> datetime:
        """R16: the injected clock, read now (`ClockError` when it misbehaves)."""
        return self.core._uow.now()

    def new_id(self) -> UUID:
        """A fresh id, the same in every attempt of this call (a retry finds its own write)."""
        if self._new_id is None:
            self._new_id = uuid4()
        return self._new_id


Body = Callable[Concatenate[C, Call[S], P], R]
Public = Callable[Concatenate[C, Actor, P], R]


def command(
    permission: Permission,
    *,
    sees: Sight[S] | None = None,
    checks: Mapping[str, Check] | None = None,
    together: Callable[[Mapping[str, Any]], object] | None = None,
    logged: tuple[str, ...] = (),
) -> Callable[[Body[C, S, P, R]], Public[C, P, R]]:
    """A command: logged as ``ledger.command``, retried when a racing writer wins (R13).

    ``together`` checks the arguments together, once each is checked (an order total).
    """
    return _declare("command", permission, sees, checks or {}, logged, together)


def read(
    permission: Permission,
    *,
    sees: Sight[S] | None = None,
    checks: Mapping[str, Check] | None = None,
    together: Callable[[Mapping[str, Any]], object] | None = None,
    logged: tuple[str, ...] = (),
) -> Callable[[Body[C, S, P, R]], Public[C, P, R]]:
    """A query an auditor asks "who read this?" about: logged as ``ledger.read``."""
    return _declare("read", permission, sees, checks or {}, logged, together)


def query(
    permission: Permission,
    *,
    sees: Sight[S] | None = None,
    checks: Mapping[str, Check] | None = None,
    together: Callable[[Mapping[str, Any]], object] | None = None,
) -> Callable[[Body[C, S, P, R]], Public[C, P, R]]:
    """A query that writes no log line (it names nothing an auditor asks about)."""
    return _declare("query", permission, sees, checks or {}, (), together)


def _declare(
    kind: Kind,
    permission: Permission,
    sees: Sight[Any] | None,
    checks: Mapping[str, Check],
    logged: tuple[str, ...],
    together: Callable[[Mapping[str, Any]], object] | None = None,
) -> Callable[[Body[C, S, P, R]], Public[C, P, R]]:
    def declare(body: Body[C, S, P, R]) -> Public[C, P, R]:
        name = body.__name__
        if name in PERMISSIONS:
            raise TypeError(f"the command {name!r} is declared twice")
        signature = inspect.signature(body)
        self_parameter, _, *arguments = spelled_out(body, signature).parameters.values()
        actor_parameter = inspect.Parameter(
            "actor", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="Actor"
        )
        public = signature.replace(parameters=[self_parameter, actor_parameter, *arguments])
        bind = _binder(public)
        shown = dict(_log_field(entry) for entry in logged)
        named = {argument for argument, _ in shown.values()}
        unknown = {*checks, *named, *([sees.argument] if sees else [])} - set(bind.names)
        if unknown:
            raise TypeError(f"{name}: no argument {', '.join(sorted(unknown))}")
        PERMISSIONS[name] = permission
        decide: Callable[..., R] = body  # called with the arguments by name

        shown_fields = tuple((field, argument, path) for field, (argument, path) in shown.items())
        checked = tuple(checks.items())

        @guarded
        @functools.wraps(body)
        def method(core: C, *args: Any, **kwargs: Any) -> R:
            values = bind(args, kwargs)
            actor = inputs.actor(values.pop("actor"))
            for argument, check in checked:
                values[argument] = check(argument, values[argument])
            if together is not None:
                together(values)
            context: dict[str, Any] = {}
            for field, argument, path in shown_fields:
                value = values.get(argument)
                if value is not None:
                    context[field] = _shown(_attribute(value, path) if path else value)
            call: Call[Any] = Call(core, actor, None, context)

            def attempt() -> R:
                call.attempt += 1
                if sees is not None:
                    call.seen = sees.load(core, actor, values[sees.argument])
                try:
                    permission.require(actor)
                except AccessDenied as refusal:
                    core._refused(actor, name, str(refusal))
                    raise
                return decide(core, call, **values)

            if kind == "query":
                return attempt()
            if kind == "read":
                with core._read(name, actor, **context) as call.context:
                    return attempt()
            uow = core._uow
            with uow.command(name, actor, **context) as call.context:
                return uow.retrying(attempt)

        method.__signature__ = public  # type: ignore[attr-defined]
        del method.__wrapped__  # type: ignore[attr-defined]  # help() shows the public signature
        return method  # type: ignore[return-value]

    return declare


def _log_field(entry: str) -> tuple[str, tuple[str, tuple[str, ...]]]:
    """``"order_id"``; ``"filter_user=user"``: an argument under another name;
    ``"tenant_id=customer.tenant_id"``: an attribute of an argument."""
    field, _, source = entry.partition("=")
    argument, *path = (source or field).split(".")
    return field, (argument, tuple(path))


def _shown(value: object) -> object:
    """How a log line holds an argument: numbers and text as they are, ids and dates as text."""
    kind = type(value)
    return value if kind is str or kind is int or isinstance(value, int | str) else str(value)


def _attribute(value: object, path: tuple[str, ...]) -> object:
    for name in path:
        value = getattr(value, name)
    return value


_MISSING = object()


@dataclass(frozen=True)
class _Binder:
    """Arguments by name (the actor's too), as Python binds them to the public signature."""

    signature: inspect.Signature
    names: tuple[str, ...]
    positional: int
    #: Names a keyword may give; empty when the signature takes ``*args`` or ``**kwargs``.
    by_keyword: frozenset[str]
    defaults: Mapping[str, Any]

    def __call__(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        # Every command call passes through here: bind the plain cases without inspect,
        # which costs more than the rest of the guard. Anything unusual (too many or
        # missing arguments, a name twice) goes to inspect, which raises Python's TypeError.
        if not kwargs and len(args) == len(self.names) == self.positional:
            return dict(zip(self.names, args, strict=True))
        if len(args) <= self.positional and self.by_keyword:
            values = dict(zip(self.names, args, strict=False))
            if kwargs.keys() <= self.by_keyword and not kwargs.keys() & values.keys():
                values.update(kwargs)
                if len(values) == len(self.names) or self._filled(values):
                    return values
        bound = self.signature.bind(None, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        del values[next(iter(values))]  # self
        return values

    def _filled(self, values: dict[str, Any]) -> bool:
        for name in self.names:
            if name not in values:
                default = self.defaults.get(name, _MISSING)
                if default is _MISSING:
                    return False
                values[name] = default
        return True


def _binder(public: inspect.Signature) -> _Binder:
    arguments = list(public.parameters.values())[1:]
    positional = [p for p in arguments if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    plain = all(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in arguments)
    by_keyword = frozenset(p.name for p in arguments if p.kind != p.POSITIONAL_ONLY)
    return _Binder(
        public,
        tuple(p.name for p in arguments),
        len(positional),
        by_keyword if plain else frozenset(),
        {p.name: p.default for p in arguments if p.default is not p.empty},
    )

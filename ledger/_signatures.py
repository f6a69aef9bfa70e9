"""Signatures as callers read them: ``**filters: Unpack[SomeTypedDict]`` spelled out."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["spelled_out", "with_keywords_spelled_out"]

F = TypeVar("F", bound=Callable[..., Any])


def spelled_out(function: Callable[..., Any], signature: inspect.Signature) -> inspect.Signature:
    """``signature`` with a last ``**keywords: Unpack[SomeTypedDict]`` written out as the
    keyword-only parameters it stands for, each defaulting to None (``help()``, docs)."""
    parameters = list(signature.parameters.values())
    last = parameters[-1] if parameters else None
    if last is None or last.kind is not last.VAR_KEYWORD:
        return signature
    (keywords,) = typing.get_args(typing.get_type_hints(function, include_extras=True)[last.name])
    hints = typing.get_type_hints(keywords)
    return signature.replace(
        parameters=[
            *parameters[:-1],
            *(
                inspect.Parameter(name, last.KEYWORD_ONLY, default=None, annotation=hint)
                for name, hint in hints.items()
            ),
        ]
    )


def with_keywords_spelled_out(function: F) -> F:
    """Give ``function`` its `spelled_out` signature, as `inspect.signature` reports it."""
    function.__signature__ = spelled_out(function, inspect.signature(function))  # type: ignore[attr-defined]
    return function

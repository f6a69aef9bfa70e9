"""The commands the testing tools drive a ledger with: one class each, carrying its own steps."""

from ledger.testing.commands.base import Command, Context
from ledger.testing.commands.licences import Download, ViewKey
from ledger.testing.commands.orders import (
    AddCustomer,
    AskCancellationStatus,
    Cancel,
    Purchase,
    SwitchPolicy,
    Wait,
)
from ledger.testing.commands.refunds import RequestRefund, ResolveRefund

__all__ = [
    "AddCustomer",
    "AskCancellationStatus",
    "Cancel",
    "Command",
    "Context",
    "Download",
    "Purchase",
    "RequestRefund",
    "ResolveRefund",
    "SwitchPolicy",
    "ViewKey",
    "Wait",
]

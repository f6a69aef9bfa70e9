"""The `Ledger` facade, split by area: wiring, unit of work, commands by area, queries."""

from ledger.application.ledger import Ledger

__all__ = ["Ledger"]

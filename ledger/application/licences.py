"""Licence keys, downloads and copied links (R4), each recorded as an access record."""

from __future__ import annotations

from urllib.parse import quote
from uuid import UUID

from ledger import _validate
from ledger.aggregates.licence import Licence, LinkEvent
from ledger.application.commands import Call, Check, command
from ledger.application.core import LICENCE, LedgerCore
from ledger.policies import access
from ledger.values import DownloadLink

__all__ = ["DOWNLOAD_BASE_URL", "LicenceCommands"]

DOWNLOAD_BASE_URL = "https://download.ledger.example"
#: Far above any real bitness (32, 64); keeps a huge int out of error messages.
MAX_BITNESS = 1024


_LINK_CHECKS: dict[str, Check] = {
    "order_id": _validate.uuid,
    "version": _validate.text,
    "language": _validate.text,
    "bitness": lambda field, value: _validate.integer(field, value, minimum=0, maximum=MAX_BITNESS),
}


class LicenceCommands(LedgerCore):
    @command(
        access.VIEW_KEY, sees=LICENCE, checks={"order_id": _validate.uuid}, logged=("order_id",)
    )
    def view_key(self, call: Call[Licence], order_id: UUID) -> str:
        """Return the licence key; the view is recorded before the key is handed out.

        The key is opened first, so a key that cannot be opened (its data key
        missing, the store opened without the key it is wrapped under) records
        nothing and raises `ConfigurationError`.
        """
        licence = call.seen
        record = licence.view_key(call.user, call.now())
        key = self._vault.open(order_id, licence.key_ciphertext, licence.sealed_under)
        self._uow.save(record)
        return key

    @command(access.DOWNLOAD, sees=LICENCE, checks=_LINK_CHECKS, logged=("order_id",))
    def download(
        self, call: Call[Licence], order_id: UUID, version: str, language: str, bitness: int
    ) -> DownloadLink:
        """A download link valid for 14 days; the download is recorded."""
        return self._hand_out_link(call, False, version, language, bitness)

    @command(access.COPY_LINK, sees=LICENCE, checks=_LINK_CHECKS, logged=("order_id",))
    def copy_link(
        self, call: Call[Licence], order_id: UUID, version: str, language: str, bitness: int
    ) -> DownloadLink:
        """Like `download`, recorded as a copied link."""
        return self._hand_out_link(call, True, version, language, bitness)

    def _hand_out_link(
        self, call: Call[Licence], copied: bool, version: str, language: str, bitness: int
    ) -> DownloadLink:
        record = call.seen.hand_out_link(
            copied=copied,
            version=version,
            language=language,
            bitness=bitness,
            user=call.user,
            now=call.now(),
        )
        self._uow.save(record)
        return DownloadLink(self._signed_url(record), record.link_expires_at)

    def _signed_url(self, record: LinkEvent) -> str:
        expires = str(int(record.link_expires_at.timestamp()))
        parts = (str(record.order_id), record.version, record.language, str(record.bitness))
        signature = self._vault.sign_link(*parts, expires)
        path = "/".join(quote(part, safe="") for part in parts)
        return f"{DOWNLOAD_BASE_URL}/{path}?expires={expires}&signature={signature}"

"""Licence keys, downloads and copied links (R4), each recorded as an access record."""

from __future__ import annotations

from urllib.parse import quote
from uuid import UUID

from ledger import _validate
from ledger.aggregates.licence import LinkEvent
from ledger.application import inputs
from ledger.application.core import LedgerCore
from ledger.faults import guarded
from ledger.policies import access
from ledger.values import Actor, DownloadLink

__all__ = ["DOWNLOAD_BASE_URL", "LicenceCommands"]

DOWNLOAD_BASE_URL = "https://download.ledger.example"
#: Far above any real bitness (32, 64); keeps a huge int out of error messages.
MAX_BITNESS = 1024


class LicenceCommands(LedgerCore):
    @guarded
    def view_key(self, actor: Actor, order_id: UUID) -> str:
        """Return the licence key; the view is recorded before the key is handed out.

        The key is opened first, so a key that cannot be opened (its data key
        missing, the store opened without the key it is wrapped under) records
        nothing and raises `ConfigurationError`.
        """
        actor = inputs.actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        uow = self._uow
        with uow.command("view_key", actor, order_id=str(order_id)):
            licence = self._visible_licence(actor, order_id)
            access.VIEW_KEY.require(actor)
            record = licence.view_key(actor.user, uow.now())
            key = self._vault.open(order_id, licence.key_ciphertext, licence.sealed_under)
            uow.save(record)
            return key

    @guarded
    def download(
        self, actor: Actor, order_id: UUID, version: str, language: str, bitness: int
    ) -> DownloadLink:
        """A download link valid for 14 days; the download is recorded."""
        return self._hand_out_link("download", actor, order_id, version, language, bitness)

    @guarded
    def copy_link(
        self, actor: Actor, order_id: UUID, version: str, language: str, bitness: int
    ) -> DownloadLink:
        """Like `download`, recorded as a copied link."""
        return self._hand_out_link("copy_link", actor, order_id, version, language, bitness)

    def _hand_out_link(
        self, command: str, actor: Actor, order_id: UUID, version: str, language: str, bitness: int
    ) -> DownloadLink:
        actor = inputs.actor(actor)
        order_id = _validate.uuid("order_id", order_id)
        _validate.text("version", version)
        _validate.text("language", language)
        _validate.integer("bitness", bitness, minimum=0, maximum=MAX_BITNESS)
        uow = self._uow
        with uow.command(command, actor, order_id=str(order_id)):
            licence = self._visible_licence(actor, order_id)
            (access.COPY_LINK if command == "copy_link" else access.DOWNLOAD).require(actor)
            record = licence.hand_out_link(
                copied=command == "copy_link",
                version=version,
                language=language,
                bitness=bitness,
                user=actor.user,
                now=uow.now(),
            )
            uow.save(record)
            return DownloadLink(self._signed_url(record), record.link_expires_at)

    def _signed_url(self, record: LinkEvent) -> str:
        expires = str(int(record.link_expires_at.timestamp()))
        parts = (str(record.order_id), record.version, record.language, str(record.bitness))
        signature = self._vault.sign_link(*parts, expires)
        path = "/".join(quote(part, safe="") for part in parts)
        return f"{DOWNLOAD_BASE_URL}/{path}?expires={expires}&signature={signature}"

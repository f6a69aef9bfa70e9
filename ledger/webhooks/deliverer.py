"""The delivery process: every endpoint's feed items, POSTed in log order, signed.

One thread per endpoint this deliverer holds the lease of, so a slow or dead
endpoint holds back nobody else (and never the ledger's commands, which do not
know deliverers exist). Per endpoint the items go one at a time, in log order; a
2xx acknowledges and only then is the position stored; anything else (another
status, a timeout, a refused or dropped connection, garbage) is retried with
exponential backoff and jitter, never skipped. A deliverer killed at any moment
resumes from the stored position: the item in flight is sent again with the same
``webhook-id`` (at-least-once; receivers deduplicate on it).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, fields
from typing import Any

# The webhooks extra: only a deliverer needs an HTTP client (``ledger`` itself does not).
import httpx

from ledger._json import JSONReady, json_value
from ledger.application import Ledger
from ledger.errors import StoreUnavailable
from ledger.faults import is_store_fault
from ledger.logs import emit
from ledger.projections.feed import cursor_for, position_of
from ledger.values import FeedItem
from ledger.webhooks.deliveries import Deliveries
from ledger.webhooks.signing import signed_headers
from ledger.webhooks.source import Endpoint, Source

__all__ = ["Backoff", "Deliverer", "DeliveryStatus"]


@dataclass(frozen=True)
class Backoff:
    """Seconds before retry ``n`` (1, 2, ...): ``first · 2ⁿ⁻¹``, at most ``longest``, times a
    random factor in [0.5, 1] so that retries of many endpoints do not come in step."""

    first: float = 1.0
    longest: float = 300.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.longest, self.first * 2.0 ** (attempt - 1))
        return float(ceiling * random.uniform(0.5, 1.0))


@dataclass(frozen=True, slots=True)
class DeliveryStatus(JSONReady):
    """One endpoint as ``ledger webhooks status`` shows it."""

    endpoint_id: uuid.UUID
    partner_id: str
    url: str
    #: The last position delivered (0: none yet), and the same as a feed cursor.
    position: int
    cursor: str
    lag_items: int
    lag_seconds: float
    attempts: int
    last_error: str | None
    served_by: str | None

    def to_dict(self) -> dict[str, Any]:
        # lag_seconds is a float, which json_value (made for money and ids) refuses.
        return {
            name: self.lag_seconds if name == "lag_seconds" else json_value(getattr(self, name))
            for name in _STATUS_FIELDS
        }


#: Items read ahead per endpoint (delivered one at a time, in order).
_PAGE = 100

_STATUS_FIELDS = [f.name for f in fields(DeliveryStatus)]


class Deliverer:
    """POST every endpoint's items until `stop` (or ``run(until=)``'s event) is set.

    ``Deliverer(url, secret_key=...)`` opens the store like `Ledger.open`; or pass an
    open ``ledger=``. Several deliverers may run against one store: each endpoint is
    served by the one holding its lease, renewed while it works and taken over by
    another once it lapses (``lease_seconds``, longer than ``timeout``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        ledger: Ledger | None = None,
        secret_key: Any = None,
        timeout: float = 10.0,
        poll_interval: float = 0.1,
        backoff: Backoff | None = None,
        lease_seconds: float = 30.0,
        name: str | None = None,
        transport: Any = None,
    ) -> None:
        if ledger is None:
            ledger = Ledger.open(url, secret_key=secret_key)
            self._owns_ledger = True
        else:
            self._owns_ledger = False
        self._led = ledger
        self._source = Source(ledger)
        self._deliveries = Deliveries(ledger._views.datastore, ledger._views.dialect)
        self._deliveries.create()
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.backoff = backoff or Backoff()
        self.lease_seconds = max(lease_seconds, timeout * 2)
        self.name = name or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._transport = transport
        self._stop = threading.Event()
        self._workers: dict[uuid.UUID, tuple[threading.Thread, threading.Event]] = {}

    # -- running ---------------------------------------------------------------------------

    def run(self, *, until: threading.Event | None = None) -> None:
        """Deliver until `stop` is called (or ``until`` is set); leases are released."""
        try:
            while not self._stop.is_set() and not (until is not None and until.is_set()):
                try:
                    self._supervise()
                except Exception as error:
                    if not is_store_fault(error) and not isinstance(error, StoreUnavailable):
                        raise
                    # The database restarted or failed over: the positions are safe in it
                    # (moved only after a 2xx), so look again until it answers (§12).
                    emit(
                        self._led._uow.log,
                        "warning",
                        "ledger.webhook_store_unavailable",
                        error=str(error)[:200],
                    )
                self._stop.wait(self.poll_interval)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker, _ in list(self._workers.values()):
            worker.join()
        self._workers.clear()
        if self._owns_ledger:
            self._led.close()
            self._owns_ledger = False

    def _supervise(self) -> None:
        endpoints = {endpoint.id: endpoint for endpoint in self._source.endpoints()}
        for endpoint_id, (worker, removed) in list(self._workers.items()):
            if endpoint_id not in endpoints:
                removed.set()  # removed: its worker stops before its next item
            if not worker.is_alive():
                del self._workers[endpoint_id]
        for endpoint in endpoints.values():
            if endpoint.id in self._workers:
                continue
            if self._deliveries.claim(str(endpoint.id), self.name, time.time(), self.lease_seconds):
                removed = threading.Event()
                worker = threading.Thread(
                    target=self._serve,
                    args=(endpoint, removed),
                    name=f"webhook {endpoint.id}",
                    daemon=True,
                )
                self._workers[endpoint.id] = (worker, removed)
                worker.start()

    # -- one endpoint ------------------------------------------------------------------------

    def _serve(self, endpoint: Endpoint, removed: threading.Event) -> None:
        key = str(endpoint.id)
        renewed = time.time()
        state = self._deliveries.state(key)
        signing_key = self._source.signing_key(endpoint)
        if state is None or state.lease_owner != self.name or signing_key is None:
            self._deliveries.release(key, self.name)
            return
        client = httpx.Client(timeout=self.timeout, transport=self._transport)
        # This deliverer holds the lease: nobody else moves the position, so it is kept
        # here and the next items are read a page at a time.
        position, attempts, retry_at = state.position, state.attempts, state.next_attempt_at
        waiting: list[FeedItem] = []
        try:
            while not self._stop.is_set() and not removed.is_set():
                now = time.time()
                if now - renewed > self.lease_seconds / 3:
                    if not self._deliveries.claim(key, self.name, now, self.lease_seconds):
                        return  # the lease lapsed and another deliverer has it
                    renewed = now
                if retry_at > now:
                    self._stop.wait(min(retry_at - now, self.poll_interval))
                    continue
                if not waiting:
                    waiting = self._source.next_items(endpoint, position, _PAGE)
                    if not waiting:
                        self._stop.wait(self.poll_interval)
                        continue
                item = waiting[0]
                error = self._post(client, endpoint, signing_key, item)
                if error is None:
                    delivered = position_of(item.cursor)
                    if not self._deliveries.delivered(
                        key, self.name, position, delivered, time.time()
                    ):
                        return
                    position, attempts, retry_at = delivered, 0, 0.0
                    waiting.pop(0)
                    self._log("info", "ledger.webhook_delivered", endpoint, item)
                else:
                    attempts += 1
                    retry_at = time.time() + self.backoff.delay(attempts)
                    self._deliveries.failed(key, self.name, error, retry_at)
                    self._log("warning", "ledger.webhook_failed", endpoint, item, error=error)
        finally:
            client.close()
            with contextlib.suppress(Exception):  # a lease not released lapses by itself
                self._deliveries.release(key, self.name)

    def _post(self, client: Any, endpoint: Endpoint, key: bytes, item: FeedItem) -> str | None:
        """None on a 2xx; else what went wrong, in words."""
        body = json.dumps(item.to_dict(), separators=(",", ":")).encode()
        headers = signed_headers(key, item.id, int(time.time()), body)
        try:
            response = client.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _log(self, level: str, event: str, endpoint: Endpoint, item: FeedItem, **more: Any) -> None:
        emit(
            self._led._uow.log,
            level,
            event,
            endpoint_id=str(endpoint.id),
            partner_id=endpoint.partner_id,
            item_id=item.id,
            item_type=item.type,
            deliverer=self.name,
            **more,
        )

    # -- status ------------------------------------------------------------------------------

    def status(self) -> list[DeliveryStatus]:
        """Per endpoint in force: position, lag in items and seconds, attempts, last error."""
        states = self._deliveries.states()
        shown = []
        for endpoint in self._source.endpoints():
            state = states.get(str(endpoint.id))
            position = 0 if state is None else state.position
            waiting, age = self._source.pending(endpoint, position)
            leased = state is not None and state.lease_until > time.time()
            shown.append(
                DeliveryStatus(
                    endpoint_id=endpoint.id,
                    partner_id=endpoint.partner_id,
                    url=endpoint.url,
                    position=position,
                    cursor=cursor_for(position),
                    lag_items=waiting,
                    lag_seconds=round(age, 3),
                    attempts=0 if state is None else state.attempts,
                    last_error=None if state is None else state.last_error,
                    served_by=state.lease_owner if state is not None and leased else None,
                )
            )
        return shown

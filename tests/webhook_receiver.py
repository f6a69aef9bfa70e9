"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it records every request,
checks nothing itself, and answers as told (a status, a delay past the client's timeout,
a dropped connection, garbage), one scripted answer per request, then 204."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def item(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Receiver:
    port: int = 0
    #: Per path, what to answer next: an int status, ("sleep", s), "close" or "garbage".
    script: dict[str, list[Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    most_in_flight: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def ids(self, path: str) -> list[str]:
        return [r.headers["webhook-id"] for r in self.bodies(path)]

    def wait_for(self, path: str, count: int, timeout: float = 30.0) -> list[str]:
        """The distinct ids received on ``path``, once there are ``count`` (or the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = first_seen(self.ids(path))
            if len(ids) >= count:
                return ids
            time.sleep(0.02)
        return first_seen(self.ids(path))


def first_seen(ids: list[str]) -> list[str]:
    """Each id once, where it first came: a redelivery repeats an id, never reorders."""
    seen: dict[str, None] = {}
    for each in ids:
        seen.setdefault(each, None)
    return list(seen)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            path = self.path
            with receiver.lock:
                receiver.in_flight[path] = receiver.in_flight.get(path, 0) + 1
                receiver.most_in_flight[path] = max(
                    receiver.most_in_flight.get(path, 0), receiver.in_flight[path]
                )
                receiver.received.append(
                    Received(path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                scripted = receiver.script.get(path, [])
                answer = scripted.pop(0) if scripted else 204
            try:
                if answer == "close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if answer == "garbage":
                    self.wfile.write(b"\x00\x01 not http at all\r\n\r\n")
                    return
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = 204
                self.send_response(int(answer))
                self.send_header("content-length", "0")
                self.end_headers()
            finally:
                with receiver.lock:
                    receiver.in_flight[path] -= 1

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

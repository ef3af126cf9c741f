"""A stub ml v1 server (http.server in a thread) for driving ``hpdash.cli.main`` end to end
without Django."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


Responder = Callable[[Seen], tuple[int, Any]]


@dataclass
class StubServer:
    url: str
    requests: list[Seen] = field(default_factory=list)
    responder: Responder = lambda seen: (200, {})


@contextmanager
def stub_server() -> Iterator[StubServer]:
    server_ref: dict[str, StubServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, dict(self.headers.items()),
                        json.loads(raw) if raw else None)
            stub = server_ref["stub"]
            stub.requests.append(seen)
            code, body = stub.responder(seen)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_ref["stub"] = StubServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_ref["stub"]
    finally:
        httpd.shutdown()
        httpd.server_close()

"""'hpdash is up' is said when the web server answers, not when it was started."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hpdash.ops.supervisor import web_answers


@contextmanager
def _server(status: int) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://0.0.0.0:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_or_a_redirect_to_log_in_is_up_and_a_server_error_is_not():
    with _server(200) as url:
        assert web_answers(url)
    with _server(302) as url:
        assert web_answers(url)
    with _server(503) as url:
        assert not web_answers(url)


def test_nothing_listening_is_not_up():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert not web_answers(f"http://127.0.0.1:{port}/", timeout=0.5)

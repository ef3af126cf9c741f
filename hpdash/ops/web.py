"""The gunicorn worker ``make run`` serves with: gunicorn's threaded worker, except that a
request line over gunicorn's limit (an over-long URL) is answered in the API's own error
envelope, as JSON, instead of gunicorn's HTML page (such a request never reaches Django), and
a stopping worker exits without the interpreter's final garbage collections
(:mod:`hpdash.ops.exiting`)."""

from __future__ import annotations

import json
from typing import Any

from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from hpdash.ops.exiting import skip_final_collection


def over_long_url_response(detail: str) -> bytes:
    body = json.dumps({"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": f"The request URL is too long ({detail}); send long values in the body.",
    }}).encode()
    head = (f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return head + body


class WebWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    def run(self) -> None:
        super().run()
        skip_final_collection()  # the web process exits next

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, LimitRequestLine):
            try:
                client.sendall(over_long_url_response(str(exc)))
            except OSError:
                pass
            return
        super().handle_error(req, client, addr, exc)

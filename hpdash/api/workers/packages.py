"""``GET /workers/v1/packages/<sha256>``: one blob of the server's package store
(:mod:`hpdash.core.runner.package_store`), for a worker machine that lacks it
(:mod:`hpdash.worker.packages` checks its hash before using it).

Headers: ``Authorization: Bearer hpw_…`` (a worker key).  Answers: 200 with the blob
(``application/x-tar``, its ``X-Hpdash-Sha256``); 404 when the store has no such blob; 400 for
a name that is not a SHA-256 (lowercase hex); 401 without a live worker key.  Only a regular
file directly in the store's ``blobs/`` is ever served, opened without following a link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.http import require_GET

from hpdash.api.workers.views import worker_refusal
from hpdash.core.layout import DataLayout
from hpdash.core.runner.package_store import blob_path, is_sha256


@require_GET
def package_blob(request: HttpRequest, sha256: str) -> HttpResponseBase:
    if refused := worker_refusal(request):
        return refused
    if not is_sha256(sha256):
        return JsonResponse({"error": "sha256: 64 lowercase hexadecimal digits are required"},
                            status=400)
    path = blob_path(DataLayout(Path(settings.DATA_DIR)).package_store, sha256)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return JsonResponse({"error": f"no package {sha256} on this server"}, status=404)
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        return JsonResponse({"error": f"no package {sha256} on this server"}, status=404)
    response = FileResponse(f, content_type="application/x-tar")
    response["X-Hpdash-Sha256"] = sha256
    return response

"""``POST /workers/v1/trials/<pk>/log``: bytes of a running attempt's log, sent by the worker
machine that runs it (:mod:`hpdash.worker.log_shipper`; the rules are
:func:`hpdash.services.trial_logs.trial_log_append`'s).

Headers: ``Authorization: Bearer hpw_…`` (a worker key), ``X-Hpdash-Attempt`` (the attempt
number), ``X-Hpdash-Offset`` (where the body starts in that attempt's output).  Answers: 200
``{"received": n}``; 409 ``{"error", "expected"}`` for a gap (resend from ``expected``) or a
superseded attempt (``expected`` null: stop sending); 400 naming a bad header; 401 without a
live worker key.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hpdash.selectors.worker_keys import worker_key_find
from hpdash.services.trial_logs import LogRefused, trial_log_append
from hpdash.services.worker_keys import worker_key_mark_used

ATTEMPT, OFFSET = "X-Hpdash-Attempt", "X-Hpdash-Offset"


def _header_int(request: HttpRequest, name: str) -> int | None:
    text = request.headers.get(name, "")
    return int(text) if text.isdigit() else None


def worker_refusal(request: HttpRequest) -> JsonResponse | None:
    """A 401 unless the request carries a live worker key (then marked used)."""
    header = request.headers.get("Authorization", "")
    key = worker_key_find(key=header[7:].strip()) if header[:7].lower() == "bearer " else None
    if key is None:
        return JsonResponse({"error": "a worker key is required (Authorization: Bearer hpw_…; "
                                      "manage.py create_worker_key on the main machine)"},
                            status=401)
    worker_key_mark_used(key=key)
    return None


@csrf_exempt
@require_POST
def trial_log(request: HttpRequest, trial_pk: int) -> JsonResponse:
    if refused := worker_refusal(request):
        return refused
    attempt, offset = _header_int(request, ATTEMPT), _header_int(request, OFFSET)
    for name, value in ((ATTEMPT, attempt), (OFFSET, offset)):
        if value is None:
            return JsonResponse({"error": f"{name}: a non-negative integer is required"},
                                status=400)
    assert attempt is not None and offset is not None
    try:
        data = request.body
    except RequestDataTooBig:
        return JsonResponse({"error": "body: a chunk is at most DATA_UPLOAD_MAX_MEMORY_SIZE "
                                      "bytes"}, status=400)
    try:
        received = trial_log_append(trial_pk=trial_pk, attempt=attempt, offset=offset,
                                    data=data)
    except LogRefused as exc:
        return JsonResponse({"error": str(exc), "expected": exc.expected}, status=409)
    return JsonResponse({"received": received})

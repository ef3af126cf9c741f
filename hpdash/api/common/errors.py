"""Google's error envelope, as Google's APIs answer: ``{"error": {"code", "message", "status",
"details"}}`` with ``google.rpc.BadRequest`` field violations, and :class:`ApiError`, which a
view raises to answer with it."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from hpdash.core.spec import SpecError

HTTP_STATUS = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409,
    "UNIMPLEMENTED": 501, "INTERNAL": 500,
}


class ApiError(Exception):
    """An answer in the envelope: a status name of :data:`HTTP_STATUS`, the message, and the
    field violations ``[(field, description)]``."""

    def __init__(self, status: str, message: str,
                 violations: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.violations = status, message, violations or []

    def response(self) -> JsonResponse:
        return error(self.status, self.message, self.violations)


def error(status: str, message: str, violations: list[tuple[str, str]] | None = None,
          ) -> JsonResponse:
    body: dict[str, Any] = {"code": HTTP_STATUS[status], "message": message, "status": status}
    if violations:
        body["details"] = [{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": f, "description": d} for f, d in violations],
        }]
    resp = JsonResponse({"error": body}, status=HTTP_STATUS[status])
    if status == "UNAUTHENTICATED":
        resp["WWW-Authenticate"] = 'Bearer realm="hpdash"'
    return resp


def spec_error(exc: SpecError) -> ApiError:
    return ApiError("INVALID_ARGUMENT", str(exc),
                    [(v.field, v.description) for v in exc.violations])

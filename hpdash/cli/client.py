"""The ml v1 ``projects.jobs`` REST client (urllib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from hpdash import __version__

Opener = Callable[..., IO[bytes]]


@dataclass
class ApiError(Exception):
    """An error answered by the server in Google's envelope (or something we made of it)."""

    code: int
    status: str
    message: str
    violations: list[tuple[str, str]] = field(default_factory=list)
    hint: str = ""  # added by the CLI: what to do on the command line

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    @classmethod
    def from_response(cls, code: int, raw: bytes) -> ApiError:
        try:
            err = json.loads(raw.decode("utf-8"))["error"]
            violations = [
                (str(v.get("field", "")), str(v.get("description", "")))
                for d in err.get("details") or [] if isinstance(d, dict)
                for v in d.get("fieldViolations") or [] if isinstance(v, dict)
            ]
            return cls(int(err.get("code", code)), str(err.get("status") or f"HTTP {code}"),
                       str(err.get("message", "")), violations)
        except (ValueError, KeyError, TypeError, AttributeError):
            # Not the API's envelope: a proxy's error page, a server that is not hpdash ...
            text = raw.decode("utf-8", "replace").strip()
            snippet = " ".join(text.split())[:300]
            return cls(code, f"HTTP {code}", snippet or "(empty response)")


class ConnectionFailed(Exception):
    """The server could not be reached at all."""


class Client:
    """``create``/``get``/``list``/``cancel`` on ``<url>/v1/projects/<project>/jobs``."""

    def __init__(self, url: str, token: str, project: str, *, timeout: float = 30.0,
                 opener: Opener | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.project = project
        self.timeout = timeout
        self._open: Opener = opener or urllib.request.urlopen

    # -- building requests (kept separate so tests can inspect them) --------------------------

    def _jobs_url(self, job_id: str | None = None, verb: str = "") -> str:
        base = f"{self.url}/v1/projects/{urllib.parse.quote(self.project, safe='')}/jobs"
        if job_id is None:
            return base
        return f"{base}/{urllib.parse.quote(job_id, safe='')}{verb}"

    def build_request(self, method: str, url: str, body: object = None) -> urllib.request.Request:
        # default=str: a YAML date (unquoted 2024-01-01) goes over as text for the server to judge.
        data = json.dumps(body, default=str).encode() if body is not None else None
        headers = {"Accept": "application/json", "User-Agent": f"hpdash-cli/{__version__}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            headers["Content-Type"] = "application/json"
        # The URL is the user's own server (http or https, checked by cli.settings).
        return urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310

    def list_request(self, *, page_size: int | None = None, page_token: str = "",
                     filter_expr: str = "") -> urllib.request.Request:
        query: dict[str, str] = {}
        if filter_expr:
            query["filter"] = filter_expr
        if page_size:
            query["pageSize"] = str(page_size)
        if page_token:
            query["pageToken"] = page_token
        url = self._jobs_url()
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return self.build_request("GET", url)

    # -- sending ------------------------------------------------------------------------------

    def send(self, req: urllib.request.Request) -> dict[str, Any]:
        try:
            with self._open(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiError.from_response(exc.code, exc.read() or b"") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionFailed(f"cannot reach hpdash at {self.url}: {reason}") from None
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(200, "INVALID_RESPONSE",
                           f"the server at {self.url} did not answer with JSON; is --url an "
                           "hpdash server?") from None
        if not isinstance(data, dict):
            raise ApiError(200, "INVALID_RESPONSE", "the server answered with non-object JSON")
        return data

    # -- the four methods ---------------------------------------------------------------------

    def create_job(self, job: dict[str, Any]) -> dict[str, Any]:
        return self.send(self.build_request("POST", self._jobs_url(), job))

    def get_job(self, job_id: str) -> dict[str, Any]:
        """``jobs.get``."""
        return self.send(self.build_request("GET", self._jobs_url(job_id)))

    def get_details(self, job_id: str) -> dict[str, Any]:
        """hpdash's ``:hpdashDetails``: ``{"job": <the Job as jobs.get answers>, "waiting",
        "gpusPerTrial", "trials": [{"trialId", "gpus", "failure": {"reason", "logTail"}}]}``.
        From a server without it (an ml v1 server that is not hpdash), ``{"job": jobs.get}``."""
        try:
            return self.send(self.build_request("GET", self._jobs_url(job_id, ":hpdashDetails")))
        except ApiError as exc:
            if exc.status in ("NOT_FOUND", "UNIMPLEMENTED"):  # a missing job: get says so
                return {"job": self.get_job(job_id)}
            raise

    def trial_log(self, job_id: str, trial_id: str, offset: int = 0) -> dict[str, Any]:
        """hpdash's ``:hpdashTrialLog``: ``{"offset", "nextOffset", "size", "content"}``, the
        trial's log from byte ``offset`` (whole lines, at most 1 MiB)."""
        query = urllib.parse.urlencode({"trialId": trial_id, "offset": offset})
        return self.send(self.build_request(
            "GET", self._jobs_url(job_id, ":hpdashTrialLog") + "?" + query))

    def images(self) -> dict[str, Any]:
        """hpdash's ``:hpdashImages``: ``{"machines": [{"name", "live", "runsContainers",
        "problem", "pullFrom", "reportTime", "images": [{"name", "id", "size"}]}]}``."""
        project = urllib.parse.quote(self.project, safe="")
        return self.send(self.build_request(
            "GET", f"{self.url}/v1/projects/{project}:hpdashImages"))

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self.send(self.build_request("POST", self._jobs_url(job_id, ":cancel"), {}))

    def list_page(self, *, page_size: int | None = None, page_token: str = "",
                  filter_expr: str = "") -> dict[str, Any]:
        return self.send(self.list_request(page_size=page_size, page_token=page_token,
                                           filter_expr=filter_expr))

    def iter_jobs(self, *, limit: int | None = None, page_size: int | None = None,
                  filter_expr: str = "") -> Iterator[dict[str, Any]]:
        """Every job (newest first), following ``nextPageToken`` until ``limit``."""
        if page_size is None and limit:
            page_size = min(limit, 100)
        token = ""
        seen = 0
        while True:
            page = self.list_page(page_size=page_size, page_token=token,
                                  filter_expr=filter_expr)
            for job in page.get("jobs") or []:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield job
            token = str(page.get("nextPageToken") or "")
            if not token or (limit is not None and seen >= limit):
                return

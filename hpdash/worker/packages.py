"""The packages a trial stages, from this machine's package store, fetched from the server when
they are missing (a worker machine: ``make worker`` with ``HPDASH_SERVER_URL``).

A job created since the store exists has one :class:`~hpdash.models.JobPackage` per
``packageUris`` entry; its trials stage the store's copy (:func:`open_blob`), never the original
path, which a worker machine does not have.  A blob is fetched from
``/workers/v1/packages/<sha256>`` with the worker key (:mod:`hpdash.api.workers.packages`),
written to a temporary file of the store as it arrives, and kept (renamed to its hash) only
when it has the job's size and SHA-256.  A package that cannot be had is
:class:`PackagesUnavailable`: the trial runs again, on another worker or later, and never fails
for it.  A job created before the store existed keeps staging its ``packageUris`` as they are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from hpdash.core.layout import DataLayout
from hpdash.core.runner import PrepareStopped
from hpdash.core.runner.package_store import StoredPackage, blob_path, open_blob
from hpdash.core.runner.packages import PackageError
from hpdash.core.spec import JobDefinition
from hpdash.models import Job

CHUNK = 1024 * 1024
TIMEOUT = 10.0  # seconds without a byte before a fetch is given up


class PackagesUnavailable(Exception):
    """This machine cannot have one of the job's packages now (say which, and why)."""


def definition_with_local_packages(job: Job, tick: Callable[[], str | None] | None = None
                                   ) -> JobDefinition:
    """The job's typed definition, its ``packageUris`` replaced by this machine's unpacked
    copies from the store.  ``tick`` is asked between chunks of a fetch (a heartbeat, and
    whether to stop: :class:`PrepareStopped`)."""
    definition = job.definition
    rows = list(job.packages.order_by("position"))
    if not rows or definition.package is None:  # a container image has no packages
        return definition
    store = DataLayout(Path(settings.DATA_DIR)).package_store
    paths = []
    for row in rows:
        package = StoredPackage(sha256=row.sha256, name=row.name, size=row.size)
        if not blob_path(store, package.sha256).is_file():
            fetch_package(package, store, tick)
        try:
            paths.append(str(open_blob(store, package)))
        except PackageError as exc:
            raise PackagesUnavailable(str(exc)) from exc
    trainer = dataclasses.replace(definition.package, package_uris=tuple(paths))
    return dataclasses.replace(definition, trainer=trainer)


def fetch_package(package: StoredPackage, store: Path,
                  tick: Callable[[], str | None] | None = None) -> None:
    cfg = settings.HPDASH
    what = f"package {package.name} (sha256 {package.sha256[:12]}…)"
    if not cfg.server_url:
        raise PackagesUnavailable(f"{what} is not in this machine's store and "
                                  "HPDASH_SERVER_URL is not set to fetch it from the server")
    url = f"{cfg.server_url}/workers/v1/packages/{package.sha256}"
    # S310: the server URL is the administrator's http(s) setting (checked in config).
    request = urllib.request.Request(url, headers={  # noqa: S310
        "Authorization": f"Bearer {cfg.worker_key}"})
    blobs = blob_path(store, package.sha256).parent
    blobs.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=blobs, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            sha, size = hashlib.sha256(), 0
            while chunk := answer.read(CHUNK):
                size += len(chunk)
                if size > package.size:
                    raise PackagesUnavailable(f"{what}: the server sent more than its "
                                              f"{package.size} bytes")
                sha.update(chunk)
                out.write(chunk)
                if tick is not None and (why := tick()) is not None:
                    raise PrepareStopped(f"fetching {what} stopped: {why}")
        if sha.hexdigest() != package.sha256:
            raise PackagesUnavailable(f"{what}: what {url} sent has sha256 "
                                      f"{sha.hexdigest()[:12]}…, not the job's")
        os.replace(tmp, blob_path(store, package.sha256))
    except urllib.error.HTTPError as exc:
        raise PackagesUnavailable(f"cannot fetch {what} from {url}: HTTP {exc.code} "
                                  f"{exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise PackagesUnavailable(f"cannot fetch {what} from {url}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

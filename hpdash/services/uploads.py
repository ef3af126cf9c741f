"""Upload writes: a trainer package uploaded through the new-job form, stored in the data dir
where a job's ``packageUris`` can name it."""

from __future__ import annotations

import os
import re
import secrets

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from hpdash.core.layout import DataLayout

MAX_PACKAGE_BYTES = 100 * 1024 * 1024
PACKAGE_SUFFIXES = (".tar.gz", ".tgz", ".whl", ".zip")


class UploadRefused(ValueError):
    """The upload is not a package hpdash stores; the message is for the user."""


def safe_filename(name: str) -> str:
    """The client's file name reduced to a harmless one: its last path component (either
    slash), characters outside [A-Za-z0-9._-] replaced, no leading dots, at most 120
    characters (keeping the end, where the suffix is)."""
    base = os.path.basename(name.replace("\\", "/"))
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return base[-120:]


def upload_store(*, upload: UploadedFile[bytes]) -> str:
    """Store an uploaded trainer package under DATA_DIR/uploads/<random>/ and return its
    absolute path.  Raises :class:`UploadRefused` (nothing stored) for a file that is not an
    sdist, wheel or zip (by name and by content) or is larger than ``MAX_PACKAGE_BYTES``."""
    name = safe_filename(upload.name or "")
    suffix = next((s for s in PACKAGE_SUFFIXES if name.lower().endswith(s)), None)
    if suffix is None or len(name) <= len(suffix):
        raise UploadRefused("The package must be an sdist (.tar.gz or .tgz), a wheel (.whl) "
                            "or a .zip file.")
    if (upload.size or 0) > MAX_PACKAGE_BYTES:
        raise UploadRefused(f"The package is larger than {MAX_PACKAGE_BYTES // (1024 * 1024)} "
                            "MiB.")
    head = upload.read(4)
    upload.seek(0)
    is_zip = head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")
    if (suffix in (".whl", ".zip") and not is_zip) or (
        suffix in (".tar.gz", ".tgz") and not head.startswith(b"\x1f\x8b")
    ):
        kind = "zip archive" if suffix in (".whl", ".zip") else "gzip-compressed tar archive"
        raise UploadRefused(f"{name} is not a {kind}, although its name says so.")
    directory = DataLayout(settings.DATA_DIR).uploads / secrets.token_hex(16)
    directory.mkdir(parents=True)
    path = directory / name
    with open(path, "xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return str(path.resolve())

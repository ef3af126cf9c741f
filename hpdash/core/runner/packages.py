"""Makes a job's ``packageUris`` importable by its trials.

Each URI is a local absolute path or a ``file://`` URI to one of:

- a package directory containing ``__init__.py`` (what gcloud's ``--package-path`` points at):
  its parent directory goes on ``PYTHONPATH``;
- any other directory (a source tree): itself goes on ``PYTHONPATH``, or its ``src/`` if it has
  one (src layout);
- an sdist (``.tar.gz``/``.tgz``/``.zip``): unpacked, then treated as a source tree;
- a wheel (``.whl``): unpacked (a wheel is importable as unpacked).

Archives are unpacked once per job into ``dest`` (atomically: concurrent workers race safely).
Dependencies declared by the package are *not* installed: the worker's environment must have
them (decision recorded in the README).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile

from hpdash.core.spec.types import local_path


class PackageError(Exception):
    pass


def _source_root(path: str) -> str:
    if os.path.isfile(os.path.join(path, "__init__.py")):
        return os.path.dirname(path.rstrip("/"))
    src = os.path.join(path, "src")
    if os.path.isdir(src) and not any(
        os.path.isfile(os.path.join(path, d, "__init__.py")) for d in os.listdir(path)
    ):
        return src
    return path


def _unpack(archive: str, target: str) -> None:
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in name.split("/"):
                    raise PackageError(f"{archive}: unsafe path {name!r} in archive")
            zf.extractall(target)  # noqa: S202 - every member name was checked above
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(target, filter="data")


def _unpacked_root(target: str, archive: str) -> str:
    if archive.endswith(".whl"):
        return target
    entries = [e for e in os.listdir(target) if not e.startswith(".")]
    # An sdist holds one top-level folder, <name>-<version>/
    if len(entries) == 1 and os.path.isdir(os.path.join(target, entries[0])):
        return _source_root(os.path.join(target, entries[0]))
    return _source_root(target)


def stage_packages(uris: list[str] | tuple[str, ...], dest: str) -> list[str]:
    """Return the ``PYTHONPATH`` entries that make ``uris`` importable (in order)."""
    paths: list[str] = []
    for uri in uris:
        path = local_path(uri)
        if not os.path.exists(path):
            raise PackageError(f"package {uri} does not exist on this worker")
        if os.path.isdir(path):
            paths.append(_source_root(os.path.abspath(path)))
            continue
        if not path.endswith((".whl", ".zip", ".tar.gz", ".tgz", ".tar")):
            raise PackageError(
                f"package {uri} is not a directory, an sdist (.tar.gz/.zip) or a wheel (.whl)"
            )
        stat = os.stat(path)
        digest = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
        target = os.path.join(dest, digest[:16])
        if not os.path.isdir(target):
            os.makedirs(dest, exist_ok=True)
            tmp = tempfile.mkdtemp(dir=dest, prefix=".unpack-")
            try:
                _unpack(path, tmp)
                os.rename(tmp, target)
            except OSError as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                if not os.path.isdir(target):  # another worker won the race
                    raise PackageError(f"cannot unpack {uri}: {exc}") from exc
            except (tarfile.TarError, zipfile.BadZipFile, PackageError) as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise PackageError(f"cannot unpack {uri}: {exc}") from exc
        paths.append(_unpacked_root(target, path))
    return paths

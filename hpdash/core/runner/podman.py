"""podman as hpdash calls it: the ``containers.conf`` this machine needs, and the calls.

Every podman call hpdash makes runs with ``CONTAINERS_CONF=<data>/podman/containers.conf``,
which the worker writes itself (no system file is edited, ``make run`` needs no setup):

- ``runtime = "runc"`` when runc is installed: crun (podman's default on Debian 12) refuses a
  host whose cgroups are in hybrid mode ("cgroups in hybrid mode not supported"); runc runs
  on v1, hybrid and v2 alike.
- ``default_ulimits`` capped at this process's own hard limits: as root, podman raises
  ``RLIMIT_NOFILE`` and ``RLIMIT_NPROC`` to the maximum, which needs ``CAP_SYS_RESOURCE``; a
  VM or container without it fails every start with "setrlimit ... Operation not permitted".

Plain Python, no Django.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONF_ENV = "CONTAINERS_CONF"
CONF_NAME = "containers.conf"
AUTH_ENV = "REGISTRY_AUTH_FILE"
CDI_GPU = "nvidia.com/gpu"  # the CDI device kind of a GPU (`nvidia-ctk cdi generate`)
# The limits a container starts with: nofile's hard limit is this machine's; nproc's is the
# soft one (higher ones were refused here even under the host's hard limit; a trial's process
# count is its cgroup's ``--pids-limit`` anyway, and with a uid per trial this is per trial).
_NOFILE_SOFT = 1024
_NPROC_SOFT = 4096
_CAP = 1 << 20  # "unlimited" on the host: podman's own maximum for nofile


@dataclass(frozen=True)
class ContainerSettings:
    """How trials in containers run on this machine (``HPDASH_CONTAINER_*``)."""

    podman: str  # the podman executable
    network: bool = False  # True: the host's network (``HPDASH_CONTAINER_NETWORK=host``)
    # The registries images may be pulled from (``HPDASH_CONTAINER_PULL_FROM``, ``host[:port]``
    # as in an image name; none: never pull), those of them spoken to without TLS
    # verification (``HPDASH_CONTAINER_INSECURE_REGISTRIES``), and how long a pull may take.
    pull_from: tuple[str, ...] = ()
    insecure: tuple[str, ...] = ()
    pull_timeout: float = 600.0

    def may_pull(self, image: str) -> bool:
        """Whether ``image`` may be pulled here: its registry is one the site named."""
        return registry_of(image) in self.pull_from


class PodmanError(Exception):
    """A podman call failed; the message is podman's own last line."""


def _hard(limit: int) -> int:
    hard = resource.getrlimit(limit)[1]
    return _CAP if hard == resource.RLIM_INFINITY else min(hard, _CAP)


def conf_text(*, runtime: str | None) -> str:
    """The ``containers.conf`` for this machine (see the module's docstring)."""
    nofile, nproc = _hard(resource.RLIMIT_NOFILE), _hard(resource.RLIMIT_NPROC)
    ulimits = [f"nofile={min(_NOFILE_SOFT, nofile)}:{nofile}",
               f"nproc={min(_NPROC_SOFT, nproc)}:{min(_NPROC_SOFT, nproc)}"]
    lines = ["# Written by hpdash (hpdash/core/runner/podman.py) for its own podman calls.",
             "[containers]", f"default_ulimits = {json.dumps(ulimits)}"]
    if runtime:
        lines += ["", "[engine]", f"runtime = {json.dumps(runtime)}"]
    return "\n".join(lines) + "\n"


def write_conf(directory: Path) -> Path:
    """Write (or rewrite, when this machine's needs changed) ``directory/containers.conf``;
    its path.  Safe against other workers doing the same (a write is a rename)."""
    text = conf_text(runtime="runc" if shutil.which("runc") else None)
    path = directory / CONF_NAME
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            return path
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = directory / f".{CONF_NAME}.{os.getpid()}"
    tmp.write_text(text)
    tmp.rename(path)
    return path


@dataclass(frozen=True)
class Podman:
    """The podman executable and the ``containers.conf`` every call uses."""

    exe: str
    conf: Path

    @classmethod
    def here(cls, conf_dir: Path, exe: str | None = None) -> Podman | None:
        """podman on this machine (``exe``, else the one on PATH) with its configuration
        written into ``conf_dir``; None when there is no podman."""
        found = exe or shutil.which("podman")
        if not found:
            return None
        return cls(found, write_conf(conf_dir))

    @property
    def env(self) -> dict[str, str]:
        """The environment of a podman call: the worker's is not the container's (that is
        only what ``-e`` gives), but podman reads its own settings from it."""
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               CONF_ENV: str(self.conf), "HOME": os.environ.get("HOME", "/root")}
        if os.environ.get(AUTH_ENV):  # the credentials of `podman login`, for pulls
            env[AUTH_ENV] = os.environ[AUTH_ENV]
        return env

    def argv(self, *args: str) -> list[str]:
        return [self.exe, *args]

    def run(self, *args: str, timeout: float = 60.0, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        """``podman <args>``, its output captured; :class:`PodmanError` with podman's own
        message when it fails and ``check``."""
        try:
            out = subprocess.run(self.argv(*args), env=self.env, capture_output=True,
                                 text=True, timeout=timeout, check=False,
                                 stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PodmanError(f"podman {args[0] if args else ''} failed: {exc}") from exc
        if check and out.returncode != 0:
            raise PodmanError(last_line(out.stderr) or f"podman {args[0]} exit code "
                                                        f"{out.returncode}")
        return out

    def problem(self) -> str | None:
        """Why this podman cannot run containers here, or None (``podman info`` answers; a
        start that fails all the same is each trial's clear failure)."""
        try:
            self.run("info", "--format", "json", timeout=120)
        except PodmanError as exc:
            return f"podman does not work on this machine: {exc}"
        return None

    def image_exists(self, image: str) -> bool:
        return self.run("image", "exists", image, check=False).returncode == 0

    def images(self) -> list[dict[str, Any]]:
        """The images on this machine, one entry per name (``registry/repository:tag``):
        ``{"name", "id" (its first 12 hex digits, as podman shows it), "size" (bytes)}``,
        sorted by name; an image without a name is not listed (no job can name it)."""
        out = self.run("images", "--format", "json")
        found: dict[str, dict[str, Any]] = {}
        for row in json.loads(out.stdout or "[]"):
            if not isinstance(row, dict):
                continue
            size = row.get("Size")
            for name in row.get("Names") or ():
                found[str(name)] = {"name": str(name), "id": str(row.get("Id") or "")[:12],
                                    "size": size if isinstance(size, int) else None}
        return [found[name] for name in sorted(found)]

    def containers(self, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        """The containers (running or not) with every one of ``labels``, as podman describes
        them (``Names``, ``Labels``, ``State``, ...)."""
        filters: list[str] = []
        for key, value in labels.items():
            filters += ["--filter", f"label={key}={value}" if value else f"label={key}"]
        out = self.run("ps", "--all", "--format", "json", *filters)
        rows = json.loads(out.stdout or "[]")
        return [r for r in rows if isinstance(r, dict)]


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def image_candidates(image: str) -> list[str]:
    """The names a reference may match in local storage, as podman resolves a short name
    with ``--pull=never``: ``trainer`` is ``localhost/trainer:latest`` (or Docker Hub's),
    ``gcr.io/p/t:v1`` only itself."""
    ref = image
    if "@" not in ref and ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return [ref]
    library = ref if "/" in ref else f"library/{ref}"
    return [ref, f"localhost/{ref}", f"docker.io/{library}"]


def registry_of(image: str) -> str:
    """The registry an image reference names (``gcr.io``, ``127.0.0.1:5000``), as podman reads
    it: the first component when it is a host (a ``.`` or a ``:`` in it, or ``localhost``),
    else Docker Hub (``docker.io``), where a short name would be looked for."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def bind(source: Path | str, target: Path | str, *, read_only: bool = False) -> list[str]:
    """``--mount type=bind,...``: unlike ``-v``, a ``:`` in a path is fine (Vertex's default
    output directories have one); a ``,`` is not (ValueError)."""
    for path in (str(source), str(target)):
        if "," in path or "\n" in path:
            raise ValueError(f"{path!r}: a container cannot bind a path with a comma in it")
    spec = f"type=bind,source={source},target={target}"
    return ["--mount", spec + (",readonly=true" if read_only else "")]


def labels_argv(labels: Mapping[str, str]) -> list[str]:
    return [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]


def env_argv(env: Mapping[str, str]) -> Sequence[str]:
    """``-e NAME=value`` for each variable (podman takes everything after the first ``=`` as
    the value, newlines included)."""
    return [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]

"""A Python environment per job: the job's packages installed with their declared dependencies
into a virtualenv of its own, built from a base interpreter the server offers, cached under
the data dir by the hash of what went in.

What goes in, and so what the cache key hashes (:func:`env_key`):

- the base interpreter (its path, and its real file's size and mtime: an upgrade is seen);
- every *installable* package of the job (:func:`is_installable`: a wheel, an sdist, or a
  source directory with ``setup.py``/``pyproject.toml``), by the SHA-256 of its contents
  (:func:`tree_digest`), in the order given;
- hpdash's trainer support (``hypertune`` from cloudml-hypertune and ``hpdash.trainer``),
  by the hash of its files (:func:`support_files`);
- the package-index settings the installer is given (:func:`index_env`).

A requirement such as ``lightgbm>=4`` is hashed as written, not as resolved: a job with the
same inputs reuses the environment even if the index has a newer release meanwhile (evict the
cache to pick it up; see the README, "Trainer dependencies").

The build (:meth:`JobEnvs.ensure`) runs its steps through a ``run`` callable that the executor
provides, so they run as the trial's user, sandboxed like a trial (a ``setup.py`` is untrusted
code), their output in the trial's log.  It takes place in a fresh directory of its own under
``<envs>/.build-*``; only a complete environment is renamed to ``<envs>/<key>``, under a lock,
so two workers building the same environment at once never see or leave a half-built one.
After the build the tree is made the service's (read-only to trials, fd by fd, refusing
anything but directories, symlinks and singly-linked regular files), the support is added, and
only then is it renamed into place.

Plain Python, no Django.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import re
import shutil
import stat
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import hpdash

# A build step: (argv, env, cwd) -> (exit status, the last lines of its output).
Runner = Callable[[Sequence[str], Mapping[str, str], str], tuple[int, str]]
# Called about once a second while a build runs or waits for another's: the worker's heartbeat
# (a long build is not a lost worker); a reason to stop ("job cancelled"), or None.
Tick = Callable[[], "str | None"]

_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar")
_SKIP = ("__pycache__", ".git")
# The worker's variables the installer is given: pip's and uv's own, proxies, certificates.
_INDEX_VARS = re.compile(r"^(PIP_|UV_)|^(HTTPS?_PROXY|NO_PROXY|ALL_PROXY|https?_proxy|no_proxy|"
                         r"all_proxy|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE)$")
# uv does not read pip's variables: an index set for pip serves uv too (uv's own win).
_PIP_TO_UV = {"PIP_INDEX_URL": "UV_INDEX_URL", "PIP_EXTRA_INDEX_URL": "UV_EXTRA_INDEX_URL",
              "PIP_FIND_LINKS": "UV_FIND_LINKS", "PIP_NO_INDEX": "UV_NO_INDEX",
              "PIP_CERT": "SSL_CERT_FILE"}
# Variables of the build that are hpdash's, never the admin's.
_BUILD_OWN = ("UV_CACHE_DIR", "UV_PYTHON_DOWNLOADS", "UV_PYTHON", "UV_LINK_MODE")
SUPPORT_DIR = "hpdash-support"
SUPPORT_PTH = "_hpdash_support.pth"
# Appended, not prepended: a job that pins its own cloudml-hypertune gets its own.
_PTH_LINE = ("import os, sys; sys.path.append(os.path.join(sys.prefix, "
             f"{SUPPORT_DIR!r}))\n")


class EnvError(Exception):
    """The job's environment cannot be built; the message is the trial's failure cause."""


def is_installable(path: str) -> bool:
    """Whether a package path is installed into the job's environment with its dependencies
    (a wheel, an sdist, a source tree with ``setup.py`` or ``pyproject.toml``), rather than put
    on ``PYTHONPATH`` as it is (a plain package directory, as gcloud's ``--package-path``)."""
    if os.path.isdir(path):
        return any(os.path.isfile(os.path.join(path, f)) for f in ("setup.py", "pyproject.toml"))
    return path.endswith(_ARCHIVES)


def index_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The package-index settings of the worker that the installer is given: every ``PIP_*``
    and ``UV_*`` variable, proxies and certificate bundles; uv's name filled in from pip's
    where only pip's is set (``PIP_INDEX_URL`` serves uv as ``UV_INDEX_URL``)."""
    env = {k: v for k, v in environ.items() if _INDEX_VARS.match(k) and k not in _BUILD_OWN}
    for pip_name, uv_name in _PIP_TO_UV.items():
        if pip_name in env and uv_name not in env:
            env[uv_name] = env[pip_name]
    return dict(sorted(env.items()))


def index_paths(index: Mapping[str, str]) -> list[str]:
    """The local files and directories the index settings name (a find-links directory, a
    ``file://`` index, a certificate bundle), which a boxed build must be shown: each value's
    absolute paths and ``file://`` URLs (lists split on spaces and commas) that exist."""
    found: list[str] = []
    for value in index.values():
        for item in re.split(r"[\s,]+", value):
            path = urllib.parse.unquote(item[len("file://"):]) if item.startswith(
                "file://") else item
            if os.path.isabs(path) and os.path.exists(path):
                found.append(os.path.normpath(path))
    return list(dict.fromkeys(found))


def _walk(root: str) -> Iterator[tuple[str, str]]:
    """(relative path, full path) of everything under ``root``, sorted, skipping caches."""
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP)
        for name in sorted(dirs + files):
            if name.endswith(".pyc"):
                continue
            full = os.path.join(base, name)
            yield os.path.relpath(full, root), full


def tree_digest(path: str) -> str:
    """SHA-256 of a file's bytes, or of a directory's tree: each entry's relative path, kind,
    and bytes (a symlink: its target), in sorted order; ``__pycache__``, ``.git`` and
    ``*.pyc`` left out."""
    h = hashlib.sha256()
    if not os.path.isdir(path):
        h.update(b"file\0")
        _feed(h, path)
        return h.hexdigest()
    for rel, full in _walk(path):
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            h.update(f"link\0{rel}\0{os.readlink(full)}\0".encode())
        elif stat.S_ISDIR(st.st_mode):
            h.update(f"dir\0{rel}\0".encode())
        elif stat.S_ISREG(st.st_mode):
            h.update(f"file\0{rel}\0{st.st_mode & 0o100:o}\0".encode())
            _feed(h, full)
    return h.hexdigest()


def _feed(h: hashlib._Hash, path: str) -> None:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(b"\0")


def support_files() -> dict[str, bytes]:
    """What every job environment holds besides the job's packages: ``hypertune`` (from the
    server's cloudml-hypertune) and ``hpdash.trainer`` (with a bare ``hpdash/__init__.py``),
    as relative path -> bytes."""
    files: dict[str, bytes] = {"hpdash/__init__.py": f'__version__ = "{hpdash.__version__}"\n'
                               .encode()}
    spec = importlib.util.find_spec("hypertune")
    sources = {"hypertune": spec.submodule_search_locations[0] if spec and
               spec.submodule_search_locations else None,
               "hpdash/trainer": os.path.join(os.path.dirname(hpdash.__file__), "trainer")}
    for prefix, where in sources.items():
        if where is None:
            raise EnvError("cloudml-hypertune is not installed in hpdash's environment")
        for rel, full in _walk(where):
            if rel.endswith(".py"):
                files[f"{prefix}/{rel}"] = Path(full).read_bytes()
    return files


def support_digest(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel] + b"\0")
    return h.hexdigest()


def env_key(*, python: str, python_id: str, inputs: Sequence[str], support: str,
            index: Mapping[str, str]) -> str:
    """The cache key of an environment: SHA-256 over the interpreter, the contents digests of
    the installed packages (in order), the support's digest and the index settings."""
    h = hashlib.sha256(b"hpdash-env-1\0")
    for part in (python, python_id, *inputs, "|", support,
                 *(f"{k}={v}" for k, v in sorted(index.items()))):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:32]


class Stopped(EnvError):
    """The build was stopped from outside (its tick gave a reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the Python environment's build was stopped: {reason}")
        self.reason = reason


@contextlib.contextmanager
def _locked(path: Path, tick: Tick | None) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # another worker builds it: wait, heartbeating
                if tick is not None and (reason := tick()):
                    raise Stopped(reason) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def _copy_input(src: str, into: Path) -> Path:
    target = into / os.path.basename(src.rstrip("/"))
    if os.path.isdir(src):
        shutil.copytree(src, target, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
    else:
        shutil.copyfile(src, target)
    return target


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    """Hand a tree the service just made (nobody else has touched it) to the build's user."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for _rel, full in _walk(str(root)):
        os.chown(full, uid, gid, follow_symlinks=False)


def _seal_entry(path: str, group: int) -> None:
    """One entry of a built tree made the service's: read-only to ``group``.  Opened without
    following a link, checked by fstat: a symlink is only re-owned (never followed); a FIFO,
    device or a file hard-linked elsewhere refuses the whole environment."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        os.chown(path, os.geteuid(), group, follow_symlinks=False)
        return
    if not (stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1)):
        raise EnvError(f"the build left {path}, which is not a plain file or directory")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        now = os.fstat(fd)
        if (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev):
            raise EnvError(f"{path} changed while the environment was sealed")
        os.fchown(fd, os.geteuid(), group)
        executable = stat.S_ISDIR(now.st_mode) or now.st_mode & 0o100
        os.fchmod(fd, 0o750 if executable else 0o640)
    finally:
        os.close(fd)


def seal(root: Path, group: int) -> None:
    """Make a tree the build's user wrote the service's, readable (not writable) by ``group``.
    Runs after every process of the build has ended."""
    _seal_entry(str(root), group)
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            _seal_entry(os.path.join(base, name), group)


def _add_support(env: Path, files: Mapping[str, bytes], group: int | None) -> None:
    """The support files, and the ``.pth`` that puts them on ``sys.path``; explicit modes
    (the worker's umask may be 077), readable by ``group``."""
    written = []
    for rel, data in files.items():
        target = env / SUPPORT_DIR / rel
        for parent in reversed(target.relative_to(env).parents):
            if parent != Path():
                (env / parent).mkdir(exist_ok=True)
                written.append(env / parent)
        target.write_bytes(data)
        written.append(target)
    for site in env.glob("lib/python*/site-packages"):
        (site / SUPPORT_PTH).write_text(_PTH_LINE)
        written.append(site / SUPPORT_PTH)
    for path in written:
        if group is not None:
            os.chown(path, -1, group)
        path.chmod(0o750 if path.is_dir() else 0o640)


class JobEnvs:
    """The environments under ``root`` (``<data>/envs``), built with the ``uv`` binary at
    ``uv`` (copied under ``root`` first, so that a trial user who cannot reach hpdash's own
    checkout can run it).  ``group`` (the trial user's) may read them; None: the service's
    user only (trainers run as it)."""

    def __init__(self, root: Path, *, uv: str, group: int | None) -> None:
        self.root = root
        self.uv = uv
        self.group = group

    def python(self, key: str) -> Path:
        return self.root / key / "bin" / "python"

    def ready(self, key: str) -> bool:
        return (self.root / key).is_dir()

    def _dir(self, path: Path) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.group is not None:
            os.chown(path, -1, self.group)
            path.chmod(0o710)  # traverse only: a build's random name is not listed

    def _tool(self) -> str:
        """The uv binary, copied once under ``<envs>/.tools`` (by size and mtime)."""
        st = os.stat(self.uv)
        tag = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
        tools = self.root / ".tools"
        self._dir(tools)
        target = tools / f"uv-{tag}"
        if not target.exists():
            tmp = tools / f".uv-{os.getpid()}-{tag}"
            shutil.copyfile(self.uv, tmp)
            if self.group is not None:
                os.chown(tmp, -1, self.group)
            tmp.chmod(0o750)
            tmp.rename(target)
        return str(target)

    def stage(self, paths: Sequence[str]) -> tuple[Path, list[Path]]:
        """Copy the job's installable packages into a fresh build directory (so what is hashed
        is what is installed, whatever happens to the originals); the directory and the
        copies."""
        self._dir(self.root)
        build = Path(tempfile.mkdtemp(dir=self.root, prefix=".build-"))
        (build / "inputs").mkdir()
        try:
            copies = [_copy_input(p, build / "inputs") for p in paths]
        except OSError as exc:
            shutil.rmtree(build, ignore_errors=True)
            raise EnvError(f"cannot copy the job's packages: {exc}") from exc
        return build, copies

    def discard(self, build: Path) -> None:
        """Remove a build directory that is not needed (the environment was cached)."""
        shutil.rmtree(build, ignore_errors=True)

    def ensure(self, *, key: str, build: Path, inputs: Sequence[Path], python: str,
               index: Mapping[str, str], support: Mapping[str, bytes], run: Runner,
               owner: tuple[int, int] | None, tick: Tick | None = None) -> bool:
        """The environment ``key``, built from ``build`` (see :meth:`stage`) unless it exists;
        whether it was built now.  ``owner`` (uid, gid) runs the build; ``build`` is removed
        in any case.  Raises :class:`EnvError` with the installer's last lines (``Stopped``
        when ``tick`` stopped it while it waited for another worker's build)."""
        try:
            with _locked(self.root / f".{key}.lock", tick):
                if self.ready(key):
                    return False
                self._build(key=key, build=build, inputs=inputs, python=python, index=index,
                            support=support, run=run, owner=owner)
                return True
        finally:
            shutil.rmtree(build, ignore_errors=True)

    def _build(self, *, key: str, build: Path, inputs: Sequence[Path], python: str,
               index: Mapping[str, str], support: Mapping[str, bytes], run: Runner,
               owner: tuple[int, int] | None) -> None:
        uv = self._tool()
        if owner is not None:
            _chown_tree(build, *owner)
        env = build / "env"
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(build),
                **index, "UV_CACHE_DIR": str(build / "cache"), "UV_PYTHON_DOWNLOADS": "never",
                "UV_NO_PROGRESS": "1",
                # Copies, not hard links into the build's cache, which is removed with it
                # (and a sealed environment holds no file linked elsewhere).
                "UV_LINK_MODE": "copy"}
        steps = [[uv, "venv", "--quiet", "--relocatable", "--python", python, str(env)]]
        if inputs:
            steps.append([uv, "pip", "install", "--python", str(env / "bin" / "python"),
                          *map(str, inputs)])
        for argv in steps:
            code, tail = run(argv, base, str(build))
            if code != 0:
                raise EnvError(f"cannot install the job's packages (uv {argv[1]} exited with "
                               f"{code}): {tail}")
        if owner is not None:
            seal(env, self.group if self.group is not None else owner[1])
        _add_support(env, support, self.group)
        env.rename(self.root / key)

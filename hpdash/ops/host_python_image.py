"""A small Python image made from this machine's own files, without a registry.

``python -m hpdash.ops.host_python_image [--tag NAME] [--force]`` builds ``FROM scratch`` an
image of Debian's ``python3.11`` (its standard library without tests, IDLE, tkinter and
ensurepip), the shared libraries it and its extension modules load (their ``ldd`` closure),
a static busybox (``sh``, ``sleep``, ``ls``, ...), a minimal ``/etc/passwd`` and
cloudml-hypertune (copied from the Python running this, into ``dist-packages``, where Debian's
interpreter looks).  About 12 s and 64 MB here.  The tests and CI run their container trials
in it; users can build their trainers ``FROM`` it where no registry is reachable::

    FROM localhost/hpdash/python:3.11
    COPY trainer /opt/trainer
    ENV PYTHONPATH=/opt
    ENTRYPOINT ["python3", "-m", "trainer.task"]

Needs ``/usr/bin/python3.11`` (Debian's ``python3.11``), ``busybox-static`` and podman.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from hpdash.core.runner.podman import Podman, PodmanError

DEFAULT_TAG = "localhost/hpdash/python:3.11"
PYTHON = "/usr/bin/python3.11"
BUSYBOX = "/bin/busybox"
LDD = "/usr/bin/ldd"
_STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
                "config-3.11-x86_64-linux-gnu", "pydoc_data", "site-packages", "dist-packages"}
_APPLETS = ("sh", "ash", "cat", "echo", "env", "false", "id", "kill", "ls", "mkdir", "ps",
            "rm", "sleep", "test", "touch", "true", "uname", "wc", "whoami")
_LDD_PATH = re.compile(r"(/\S+)")


class BuildError(Exception):
    pass


def _copy(src: str, root: Path) -> None:
    """``src`` into ``root`` at its place on this machine (its directory's links resolved,
    so ``/lib/x86_64-linux-gnu/libc.so.6`` lands in ``usr/lib/...`` behind the merged-/usr
    links below), with its own name (the one programs load it by)."""
    where = root / os.path.realpath(os.path.dirname(src)).lstrip("/") / os.path.basename(src)
    if where.exists():
        return
    where.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(os.path.realpath(src), where)


def _libraries(paths: list[str]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        out = subprocess.run([LDD, path], capture_output=True, text=True, check=False)
        for line in out.stdout.splitlines():
            match = _LDD_PATH.search(line.split("=>")[-1])
            if match:
                found.add(match.group(1))
    return found


def build_rootfs(root: Path, python: str = PYTHON, busybox: str = BUSYBOX) -> None:
    """The image's files under ``root``."""
    for missing in (p for p in (python, busybox) if not os.path.exists(p)):
        raise BuildError(f"{missing} is missing (apt-get install python3.11 busybox-static)")
    for top in ("bin", "sbin", "lib", "lib64"):
        (root / "usr" / top).mkdir(parents=True, exist_ok=True)
        (root / top).symlink_to(f"usr/{top}")
    for empty in ("tmp", "proc", "sys", "dev", "etc", "root"):
        (root / empty).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    stdlib = Path("/usr/lib/python3.11")
    shutil.copytree(stdlib, root / "usr/lib/python3.11", symlinks=True,
                    ignore=lambda d, names: [n for n in names
                                             if Path(d) == stdlib and n in _STDLIB_SKIP])
    _copy(python, root)
    (root / "usr/bin/python3").symlink_to("python3.11")
    (root / "usr/bin/python").symlink_to("python3.11")
    dynload = sorted(str(p) for p in (stdlib / "lib-dynload").glob("*.so"))
    for lib in _libraries([python, *dynload]):
        _copy(lib, root)
    shutil.copy2(busybox, root / "usr/bin/busybox")
    for applet in _APPLETS:
        (root / "usr/bin" / applet).symlink_to("busybox")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    packages = root / "usr/lib/python3/dist-packages"
    packages.mkdir(parents=True)
    import hypertune  # noqa: PLC0415 - the copy's source: the package this Python has

    source = Path(hypertune.__file__).parent
    shutil.copytree(source, packages / "hypertune",
                    ignore=shutil.ignore_patterns("__pycache__"))


def _public(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Root's, and readable by every uid (a trial runs as a uid of its own, whatever umask
    built the files)."""
    if info.isdir():
        info.mode |= 0o755
    elif info.isfile():
        info.mode |= 0o444 | (0o111 if info.mode & 0o100 else 0)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build(tag: str = DEFAULT_TAG, *, podman: Podman, force: bool = False) -> bool:
    """Build the image as ``tag`` unless it is there (or ``force``); whether it was built."""
    if not force and podman.image_exists(tag):
        return False
    with tempfile.TemporaryDirectory(prefix="hpdash-image-") as tmp:
        root = Path(tmp) / "rootfs"
        root.mkdir()
        build_rootfs(root)
        archive = Path(tmp) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            for entry in sorted(root.iterdir()):
                tar.add(entry, arcname=entry.name, filter=_public)
        try:
            podman.run("import", "--change", 'CMD ["python3"]', "--change",
                       "ENV PATH=/usr/local/bin:/usr/bin:/bin", str(archive), tag,
                       timeout=600)
        except PodmanError as exc:
            raise BuildError(f"podman import failed: {exc}") from exc
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"the image's name ({DEFAULT_TAG})")
    parser.add_argument("--force", action="store_true", help="build even if it exists")
    parser.add_argument("--conf-dir", default=os.environ.get("HPDASH_DATA_DIR", "") + "/podman"
                        if os.environ.get("HPDASH_DATA_DIR") else None,
                        help="where the containers.conf podman uses is written")
    args = parser.parse_args(argv)
    conf_dir = Path(args.conf_dir or tempfile.mkdtemp(prefix="hpdash-podman-"))
    podman = Podman.here(conf_dir)
    if podman is None:
        print("podman is not installed (apt-get install podman runc catatonit)",
              file=sys.stderr)
        return 1
    try:
        built = build(args.tag, podman=podman, force=args.force)
    except BuildError as exc:
        print(f"cannot build {args.tag}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.tag}: {'built' if built else 'already there'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

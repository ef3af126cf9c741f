"""A sandboxed trial's directories on this machine: who the trial user is, and the directories
it may pass through (the sandbox gates), write (its own) or must reach (its jobDir).

Plain Python, no Django: the local executor (:mod:`hpdash.core.runner.executors.local`) uses it; the
service decides who the trial user is (:mod:`hpdash.ops.sandbox`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from . import safe_files
from .process import RunAs


@dataclass(frozen=True)
class TrialUser:
    name: str
    uid: int
    gid: int
    # Every uid trainers run as (a boxed trial's is leased from a range): a directory or link
    # one of them owns is a trainer's, never to be walked through by the root worker.
    trainer_uids: range = range(0)

    @property
    def run_as(self) -> RunAs:
        return RunAs(uid=self.uid, gid=self.gid)


def blocked_at(path: Path, user: TrialUser) -> Path | None:
    """The first directory on the way to ``path`` that ``user`` may not enter, if any."""
    for parent in reversed(path.parents):
        try:
            st = parent.stat()
        except OSError:
            return parent
        bit = (0o100 if st.st_uid == user.uid else 0o010 if st.st_gid == user.gid else 0o001)
        if not st.st_mode & bit:
            return parent
    return None


class SandboxError(Exception):
    """A trial's directories cannot be set up for its user; the message says what to do."""


def gate(path: Path, root: Path, user: TrialUser | None) -> None:
    """``path`` and its parents up to ``root`` (the data dir's sandbox): 0710 with the trial
    user's group (traverse only), or 0700 without a trial user."""
    steps = [path, *path.parents]
    if root not in steps:
        raise ValueError(f"{path} is not inside the sandbox {root}")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for step in steps[:steps.index(root) + 1]:
        if user is None:
            step.chmod(0o700)
        else:
            os.chown(step, -1, user.gid)
            step.chmod(0o710)


def own_dir(path: Path, user: TrialUser | None) -> None:
    """A directory the trainer writes: created empty (what was there is refused unless it is
    hpdash's own, never followed if a link), given to the trial user, 0700.  Changed through
    an fd, never by path."""
    with safe_files.dir_fd(path.parent) as parent:
        try:
            fd = safe_files.make_dir(parent, path.name, 0o700,
                                     accept=lambda st: st.st_uid in (0, os.geteuid()))
        except safe_files.UnsafePath as exc:
            raise SandboxError(f"{path}: {exc.strerror}") from exc
        try:
            if user is not None:
                os.fchown(fd, user.uid, user.gid)
        finally:
            os.close(fd)


def fresh_trial_dirs(cwd: Path, metric_dir: Path, job_dir: Path | None, *, sandbox: Path,
                     gate_user: TrialUser | None, user: TrialUser | None,
                     bound: bool = False) -> None:
    """An attempt's directories, as every executor sets them up: the trial's own directory
    ``cwd`` fresh (what an earlier attempt left is removed, never followed), its metric folder,
    both owned by ``user``, and ``job_dir`` (``<jobDir>/<trialId>``, kept across attempts) by
    :func:`own_job_dir`.  ``gate_user``: the trial user whose group may traverse the sandbox.
    Raises :class:`SandboxError`."""
    gate(cwd.parent, sandbox, gate_user)
    with safe_files.dir_fd(cwd.parent) as trials:
        safe_files.remove_tree(trials, cwd.name)
    own_dir(cwd, user)
    own_dir(metric_dir, user)
    if job_dir is not None:
        own_job_dir(job_dir, user, bound=bound)


# What a trainer creates in its ``<jobDir>/<trialId>``: readable by the jobDir's group (the
# trial's directory is setgid with that group), never by others, never writable but by itself.
TRAINER_UMASK = 0o027


def _owned_by_trainer(st: os.stat_result, user: TrialUser | None) -> bool:
    return user is not None and (st.st_uid == user.uid or st.st_uid in user.trainer_uids)


def own_job_dir(path: Path, user: TrialUser | None, *, bound: bool = False) -> None:
    """``<jobDir>/<trialId>``, set up without following a link a trainer could have planted.

    The jobDir is resolved once (its owner's links are fine) and walked from ``/`` with
    ``O_NOFOLLOW``: a component that is a link (swapped in meanwhile) or a directory a trainer
    owns (an earlier trial's own folder) is refused, so a trainer can never make the root
    worker act on a directory of its choice.  The parents hpdash creates are traversable
    (0711).  The trial's own folder is created, or taken over from an earlier attempt of the
    trial (a directory, hpdash's or the trial user's; anything else is refused), and given to
    the trial user with the jobDir's group, mode 2750 (setgid: what the trainer creates keeps
    that group; its umask is :data:`TRAINER_UMASK`), so whoever reads the jobDir through its
    group reads the trial's outputs.  A parent the trial user cannot pass through is an error
    that names it, instead of a trainer failing on its first write (unless ``bound``: a boxed
    trial gets the folder bound by fd and never passes through its parents)."""
    _no_trainers_link(Path(os.path.abspath(path.parent)), user)
    job_dir = Path(os.path.realpath(path.parent))
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in job_dir.parts[1:]:
            nxt = _enter(fd, part, job_dir, user)
            os.close(fd)
            fd = nxt
        group = os.fstat(fd).st_gid
        if user is not None and not bound:
            blocked = blocked_at(job_dir / path.name, user)
            if blocked is not None:
                st = blocked.stat()
                raise SandboxError(
                    f"jobDir: the trial user {user.name!r} (HPDASH_TRIAL_USER) cannot enter "
                    f"{blocked} (mode {stat.S_IMODE(st.st_mode):o}, owner uid {st.st_uid}); "
                    f"make it traversable (chmod o+x {blocked}) or choose a jobDir outside it")
        try:
            own = safe_files.make_dir(fd, path.name, 0o700, accept=lambda st: (
                st.st_uid in (0, os.geteuid()) or _owned_by_trainer(st, user)))
        except safe_files.UnsafePath as exc:
            raise SandboxError(f"jobDir: {job_dir / path.name}: {exc.strerror}; remove it or "
                               "choose another jobDir") from exc
        try:
            if user is not None:
                os.fchown(own, user.uid, group)
                os.fchmod(own, 0o2750)
        finally:
            os.close(own)
    finally:
        os.close(fd)


def _no_trainers_link(given: Path, user: TrialUser | None) -> None:
    """A link on the way to the jobDir that a trainer made (in ``/tmp``, say) is refused
    before it is resolved: it would point the jobDir wherever the trainer likes."""
    for step in (given, *given.parents):
        try:
            st = os.lstat(step)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode) and _owned_by_trainer(st, user):
            raise SandboxError(f"jobDir: {step} is a symbolic link a trainer made; choose a "
                               "jobDir that no trial wrote")


def _enter(fd: int, part: str, job_dir: Path, user: TrialUser | None) -> int:
    """The fd of ``part`` (a directory below ``fd``), created 0711 when missing."""
    try:
        return safe_files.make_dir(fd, part, 0o711, accept=lambda st: (
            not _owned_by_trainer(st, user)))
    except safe_files.UnsafePath as exc:
        raise SandboxError(
            f"jobDir: {job_dir} passes through {part!r}, which is a symbolic link made after "
            f"the jobDir was checked, or a directory a trainer owns ({exc.strerror}); choose "
            "a jobDir that no trial wrote") from exc

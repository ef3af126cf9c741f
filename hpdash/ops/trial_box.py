"""The trial box's settings, from the environment: whether trials run boxed (bubblewrap, a uid
per trial: :mod:`hpdash.core.runner.box`), which uids, which network, and the default limits
(:mod:`hpdash.core.runner.limits`).

``HPDASH_TRIAL_BOX``: ``auto`` (the default) boxes trials when hpdash runs as root with a
trial user and ``bwrap`` and ``setpriv`` are installed; ``on`` refuses to start otherwise;
``off`` runs trials as the trial user, unboxed (the sandbox of old: one shared user, no
namespaces, no limits).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from hpdash.core.layout import DataLayout
from hpdash.core.runner.box import BoxSettings, box_argv, interpreter_roots, lease_uid
from hpdash.core.runner.cgroups import CgroupSupport, unenforced
from hpdash.core.runner.limits import SCALE_TIER_TYPES, TrialLimits, machine, parse_size
from hpdash.core.runner.sandbox import TrialUser
from hpdash.ops.env import env_choice, env_float, env_int, env_str

DEFAULT_UIDS = "200000-265535"


def _uids(raw: str) -> range:
    name = "HPDASH_TRIAL_UIDS"
    try:
        first, _, last = raw.partition("-")
        uids = range(int(first), int(last or first) + 1)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a range of uids like {DEFAULT_UIDS}, "
                                   f"got {raw!r}") from None
    if os.geteuid() in uids:
        raise ImproperlyConfigured(f"{name}={raw!r} holds hpdash's own uid {os.geteuid()}: "
                                   "trials must never run as the service")
    if not uids or uids.start < 1 or uids.stop > 2**32 - 1:
        raise ImproperlyConfigured(f"{name}={raw!r} is empty or outside 1-4294967294")
    return uids


def default_limits() -> TrialLimits:
    """For jobs that name no machine type: ``HPDASH_TRIAL_MEMORY`` and ``HPDASH_TRIAL_CPUS``
    (default: AI Platform's default tier, BASIC, whose master is an n1-standard-4: 15 GiB and
    4 vCPUs), ``HPDASH_TRIAL_MAX_PROCESSES`` (default 4096: threads count, and a data
    loader on a large machine starts many) for every job."""
    basic = machine(SCALE_TIER_TYPES["BASIC"])
    assert basic is not None
    raw = env_str("HPDASH_TRIAL_MEMORY", "")
    try:
        memory = parse_size(raw) if raw else basic.memory_bytes
    except ValueError as exc:
        raise ImproperlyConfigured(f"HPDASH_TRIAL_MEMORY: {exc}") from None
    return TrialLimits(memory_bytes=memory or None,
                       cpus=env_float("HPDASH_TRIAL_CPUS", float(basic.vcpus)) or None,
                       processes=env_int("HPDASH_TRIAL_MAX_PROCESSES", 4096) or None)


def trial_box_from_env(user: TrialUser | None) -> BoxSettings | None:
    """The box settings, or None when trials run unboxed."""
    mode = env_choice("HPDASH_TRIAL_BOX", "auto", ("auto", "on", "off"))
    network = env_choice("HPDASH_TRIAL_NETWORK", "host", ("host", "none"))
    uids = _uids(env_str("HPDASH_TRIAL_UIDS", DEFAULT_UIDS))
    defaults = default_limits()
    if mode == "off":
        return None
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    missing = [why for why, bad in (
        ("hpdash does not run as root", os.geteuid() != 0),
        ("no trial user (HPDASH_TRIAL_USER)", user is None),
        ("bubblewrap is not installed (apt-get install bubblewrap)", not bwrap),
        ("setpriv is not installed (util-linux)", not setpriv)) if bad]
    if missing:
        if mode == "on":
            raise ImproperlyConfigured("HPDASH_TRIAL_BOX=on, but " + "; ".join(missing))
        return None
    assert bwrap is not None and user is not None
    return BoxSettings(bwrap=bwrap, uids=uids, share_gid=user.gid, network=network == "host",
                       defaults=defaults)


def box_problem(box: BoxSettings, layout: DataLayout, python: str = sys.executable) -> str | None:
    """Why a boxed trainer cannot run ``python`` and import what a trainer imports
    (cloudml-hypertune, hpdash's trainer helpers), or None: tried in a box, as a trial uid.
    Where the checkout lies does not matter (the box shows the interpreter at its path)."""
    lease = lease_uid(layout.uids, box.uids, seed=0)
    try:
        argv = box_argv(box, uid=lease.uid, cwd=Path("/"), writable=[],
                        readable=interpreter_roots(python), hide=[layout.root])
        code = "import hypertune, hpdash.trainer.summary"
        out = subprocess.run([*argv, python, "-c", code], capture_output=True, text=True,
                             timeout=60, check=False, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError) as exc:
        return f"a boxed trainer cannot start ({exc})"
    finally:
        lease.release()
    if out.returncode == 0:
        return None
    why = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
    return (f"a boxed trainer (uid {lease.uid}) cannot run {python} and import "
            f"cloudml-hypertune and hpdash: {why}. The interpreter's files must be readable by "
            "any user (chmod -R a+rX on the virtualenv), or set HPDASH_TRIAL_BOX=off")


def box_report(box: BoxSettings | None, user: TrialUser | None) -> list[str]:
    """What ``make run`` says at start about how trainers run, the box and the limits, one line
    each: boxed, each trial runs as a uid of its own (``user``'s group beside its own, to read
    its job's packages), never as ``user``; unboxed, every trial runs as ``user``."""
    if box is None:
        who = (f"trainers run as {user.name} (HPDASH_TRIAL_USER), all of them as that one user"
               if user else "trainers run as the service's own user")
        return [f"{who}, unboxed (HPDASH_TRIAL_BOX=off, or not root, or no bubblewrap): no "
                "namespaces, no memory, CPU or process limits"]
    uids = f"{box.uids.start}-{box.uids.stop - 1}"
    group = (f" (and {user.name}'s group, HPDASH_TRIAL_USER's, to read its job's packages)"
             if user else "")
    lines = [f"each trial in its own namespaces (bubblewrap), as a uid of its own from {uids}"
             f"{group}, network {'shared with the host' if box.network else 'none'}; default "
             f"limits {box.defaults.describe()}"]
    lines += [f"limits: {note}" for note in unenforced(CgroupSupport.probe())]
    return lines

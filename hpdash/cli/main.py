"""``hpdash``: ``gcloud ai-platform jobs`` for an hpdash server.

    hpdash jobs submit training JOB --config hptuning_config.yaml --package-path trainer/ \\
        --module-name trainer.task [--stream-logs] -- --epochs=10
    hpdash jobs describe JOB | list | cancel JOB | stream-logs JOB
    hpdash images                      (each worker machine's container images)
    hpdash config set url|project|data_dir VALUE
    hpdash config set token            (reads the token from the terminal or standard input)

Exit status: 0 on success; 1 on an API or usage error; after ``stream-logs`` (or
``submit --stream-logs``) 0 only if the job SUCCEEDED.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from hpdash import __version__
from hpdash.cli import jobspec, logs, packaging, render, settings
from hpdash.cli.client import ApiError, Client, ConnectionFailed

_FOLLOW_UP = """\
Your job is still active. You may view the status of your job with the command

  $ hpdash jobs describe {job_id}

or continue streaming the logs with the command

  $ hpdash jobs stream-logs {job_id}"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1 (hpdash's one error status), not 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"ERROR: ({self.prog.replace(' ', '.')}) {message}\n")


def _connection_flags(parser: argparse.ArgumentParser) -> None:
    # default=SUPPRESS: the flags work before and after the subcommand without the later
    # parser resetting what the earlier one set.
    g = parser.add_argument_group("server")
    g.add_argument("--url", default=argparse.SUPPRESS,
                   help=f"hpdash server (env HPDASH_URL, config 'url'; default "
                        f"{settings.DEFAULT_URL})")
    g.add_argument("--token", default=argparse.SUPPRESS,
                   help="API token (prefer env HPDASH_TOKEN or config 'token': a command "
                        "line is readable by every local user)")
    g.add_argument("--project", default=argparse.SUPPRESS,
                   help=f"project (env HPDASH_PROJECT, config 'project'; default "
                        f"{settings.DEFAULT_PROJECT})")


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", default=argparse.SUPPRESS,
        help="the server's data directory (its HPDASH_DATA_DIR), readable from here: trial "
             "logs are read from DATA_DIR/jobs/<project>/<job>/trials/<id>/trainer.log "
             "(env HPDASH_DATA_DIR, config 'data_dir'); without it only progress is shown")


def _scale_tier_arg(value: str) -> str:
    try:
        return jobspec.scale_tier(value)
    except jobspec.UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--scale-tier: ")) from None


def _bool_arg(value: str) -> bool:
    """gcloud's ``ArgBoolean``: true/false (also yes/no, on/off, 1/0), any case."""
    key = value.strip().lower()
    if key in ("true", "yes", "on", "1"):
        return True
    if key in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not true or false")


class _Refused(argparse.Action):
    """Takes the flag's value (so it is not mistaken for something else) and remembers the
    flag: ``cmd_submit`` refuses it by name with what to do instead."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        getattr(namespace, self.dest).append(option_string or self.option_strings[0])


def _machine_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "machines", "gcloud's machine flags, mapped onto trainingInput as gcloud does (stored "
        "and echoed; locally a trial is one process). They do not set scaleTier: workers and "
        "parameter servers need --scale-tier custom.")
    acc = "count=N,type=TYPE"
    g.add_argument("--master-machine-type", metavar="TYPE", help="masterType (e.g. "
                   "n1-standard-8); required with --scale-tier custom")
    g.add_argument("--master-accelerator", metavar=acc, help="masterConfig.acceleratorConfig; "
                   "type e.g. nvidia-tesla-t4 (sent as NVIDIA_TESLA_T4), count defaults to 1")
    g.add_argument("--worker-machine-type", metavar="TYPE", help="workerType (with "
                   "--worker-count)")
    g.add_argument("--worker-count", type=_positive_int, metavar="N", help="workerCount")
    g.add_argument("--worker-accelerator", metavar=acc, help="workerConfig.acceleratorConfig")
    g.add_argument("--parameter-server-machine-type", metavar="TYPE",
                   help="parameterServerType (with --parameter-server-count)")
    g.add_argument("--parameter-server-count", type=_positive_int, metavar="N",
                   help="parameterServerCount")
    g.add_argument("--parameter-server-accelerator", metavar=acc,
                   help="parameterServerConfig.acceleratorConfig")
    g.add_argument("--use-chief-in-tf-config", type=_bool_arg, metavar="BOOL",
                   help="useChiefInTfConfig (true or false)")
    g.add_argument("--master-image-uri", metavar="IMAGE", help="masterConfig.imageUri: each "
                   "trial runs in this container image, on a worker that has it (instead of "
                   "--module-name and packages)")
    for flag in jobspec.CONTAINER_FLAGS:
        g.add_argument(flag, action=_Refused, dest="refused_flags", default=[],
                       metavar="VALUE", help=argparse.SUPPRESS)


def _training_parser(kinds: argparse._SubParsersAction[_Parser]) -> None:
    train = kinds.add_parser(
        "training", help="submit a hyperparameter tuning job",
        usage="hpdash jobs submit training JOB [options] [-- USER_ARGS ...]",
        description="Everything after `--` is passed to the trainer and replaces `args` in "
                    "--config. Flags override the --config file's trainingInput fields.")
    train.add_argument("job", metavar="JOB", help="the job id (overrides the config's jobId)")
    train.add_argument("--config", help="a Job resource (jobId, labels, trainingInput; all "
                       "optional), YAML or JSON — e.g. your hptuning_config.yaml")
    train.add_argument("--module-name", help="the Python module to run (pythonModule)")
    train.add_argument("--package-path", help="a local package directory (with __init__.py) "
                       "to build as an sdist, like gcloud; the built archive is staged in "
                       "--staging-dir and its absolute path sent in packageUris")
    train.add_argument("--packages", action="append", default=[], metavar="PACKAGE[,...]",
                       help="built packages (.tar.gz, .whl) or package directories: local "
                            "paths (made absolute) or file:// URIs; comma-separated, "
                            "repeatable")
    train.add_argument("--staging-dir", help="where --package-path builds are staged, as "
                       "DIR/<job>/<checksum>/<name>.tar.gz (env HPDASH_STAGING_DIR; default "
                       "~/.cache/hpdash/staging); the server must be able to read it")
    train.add_argument("--job-dir", help="output directory (jobDir), made absolute; each "
                       "trial gets --job-dir <dir>/<trialId>")
    train.add_argument("--scale-tier", type=_scale_tier_arg,
                       metavar="{" + ",".join(jobspec.SCALE_TIERS) + "}",
                       help="the scale tier (stored; locally a trial is one process)")
    train.add_argument("--region", help="trainingInput.region")
    train.add_argument("--runtime-version", help="trainingInput.runtimeVersion")
    train.add_argument("--python-version", help="trainingInput.pythonVersion")
    train.add_argument("--labels", action="append", default=[], metavar="KEY=VALUE[,...]",
                       help="labels (replace the config's labels)")
    train.add_argument("--stream-logs", action="store_true",
                       help="after submitting, follow the job like `jobs stream-logs`; the "
                            "exit status is then 0 only if the job SUCCEEDED")
    _machine_flags(train)
    _data_dir_flag(train)
    _connection_flags(train)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hpdash", description="Command line for an hpdash server "
                     "(mirrors `gcloud ai-platform jobs`).")
    parser.add_argument("--version", action="version", version=f"hpdash {__version__}")
    _connection_flags(parser)
    groups = parser.add_subparsers(dest="group", metavar="{jobs,images,config}", required=True,
                                   parser_class=_Parser)

    jobs = groups.add_parser("jobs", help="submit, describe, list, cancel and follow jobs")
    cmds = jobs.add_subparsers(dest="command", required=True, parser_class=_Parser)

    submit = cmds.add_parser("submit", help="submit a job")
    kinds = submit.add_subparsers(dest="kind", required=True, parser_class=_Parser)
    _training_parser(kinds)

    describe = cmds.add_parser("describe", help="show a job and its trials")
    describe.add_argument("job", metavar="JOB")
    describe.add_argument("--format", choices=("default", "yaml", "json"), default="default",
                          help="default: YAML and the trials table; yaml: YAML only; json: "
                               "the raw JSON resource")
    _connection_flags(describe)

    lst = cmds.add_parser("list", help="list jobs, newest first")
    lst.add_argument("--filter", default="", help="a filter expression, sent to the server "
                     "(e.g. 'jobId:census* AND state:FAILED')")
    lst.add_argument("--limit", type=_positive_int, help="show at most this many jobs")
    lst.add_argument("--page-size", type=_positive_int, help="jobs per API request (max 100)")
    lst.add_argument("--format", choices=("default", "json"), default="default")
    _connection_flags(lst)

    cancel = cmds.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job", metavar="JOB")
    _connection_flags(cancel)

    stream = cmds.add_parser("stream-logs", help="follow a job's trial logs until it ends")
    stream.add_argument("job", metavar="JOB")
    stream.add_argument("--polling-interval", type=float, default=1.0,
                        help="seconds between looks at the job (default 1)")
    _data_dir_flag(stream)
    _connection_flags(stream)

    images = groups.add_parser(
        "images", help="the container images each worker machine has, whether it runs "
        "containers (or why not), as it last reported")
    images.add_argument("--format", choices=("default", "json"), default="default")
    images.set_defaults(command="")
    _connection_flags(images)

    config = groups.add_parser("config", help="the CLI's settings file")
    ccmds = config.add_subparsers(dest="command", required=True, parser_class=_Parser)
    cset = ccmds.add_parser("set", help="set url, token, project or data_dir")
    cset.add_argument("key", choices=tuple(settings.KEYS))
    cset.add_argument("value", nargs="?",
                      help="the value; for token, leave it out (or give -) to type or pipe "
                           "it in: a command line is readable by every local user")
    cunset = ccmds.add_parser("unset", help="remove a setting")
    cunset.add_argument("key", choices=tuple(settings.KEYS))
    ccmds.add_parser("list", help="show the settings in effect and where they come from")
    return parser


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return n


class _Context:
    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.settings = settings.Settings.resolve(vars(args))
        if getattr(args, "token", None):
            self.status(ARGV_WARNING.format(how="--token"))

    def client(self) -> Client:
        return Client(self.settings.url, self.settings.token, self.settings.project)

    def status(self, text: str) -> None:
        print(text, file=self.err, flush=True)


def _stream(ctx: _Context, job_id: str, poll: float = 1.0) -> int:
    streamer = logs.Streamer(ctx.client(), job_id, data_dir=ctx.settings.data_dir, out=ctx.out,
                             err=ctx.err, poll_interval=poll)
    try:
        job = streamer.run()
    except KeyboardInterrupt:
        ctx.status("Received keyboard interrupt.\n")
        ctx.status(_FOLLOW_UP.format(job_id=job_id))
        return 1
    ctx.status(logs.final_message(job))
    return logs.exit_code(job)


def cmd_submit(ctx: _Context) -> int:
    a = ctx.args
    if a.refused_flags:
        raise jobspec.refuse_container_flag(a.refused_flags[0])
    config = jobspec.load_config(a.config) if a.config else {}
    opts = jobspec.SubmitOptions(
        job_id=a.job, module_name=a.module_name, packages=a.packages, job_dir=a.job_dir,
        scale_tier=a.scale_tier, region=a.region, runtime_version=a.runtime_version,
        python_version=a.python_version, labels=a.labels, user_args=a.user_args,
        master_machine_type=a.master_machine_type, master_accelerator=a.master_accelerator,
        master_image_uri=a.master_image_uri,
        worker_machine_type=a.worker_machine_type, worker_count=a.worker_count,
        worker_accelerator=a.worker_accelerator,
        parameter_server_machine_type=a.parameter_server_machine_type,
        parameter_server_count=a.parameter_server_count,
        parameter_server_accelerator=a.parameter_server_accelerator,
        use_chief_in_tf_config=a.use_chief_in_tf_config)
    jobspec.build_job(config, opts)  # usage errors (labels, tiers) before a slow build
    built: list[str] = []
    staged_before: set[Path] = set()
    if a.package_path:
        root = a.staging_dir or packaging.default_staging_root()
        staged_before = packaging.staged_files(root, a.job)
        built = packaging.build_and_stage(a.package_path, root, a.job)
        for path in built:
            ctx.status(f"Built {a.package_path} into {path}")
    job = jobspec.build_job(config, opts, built)
    try:
        created = ctx.client().create_job(job)
    except ApiError as exc:
        # A refused job leaves nothing behind; an archive staged before (the same bytes, for a
        # job of that id that exists) is kept.
        packaging.unstage([Path(p) for p in built if Path(p) not in staged_before])
        if any("when scaleTier is CUSTOM" in why for _, why in exc.violations):
            exc.hint = ("Add --scale-tier custom: like gcloud, the machine flags do not set "
                        "the tier for you.")
        raise
    job_id = created.get("jobId", a.job)
    ctx.status(f"Job [{job_id}] submitted successfully.")
    if not a.stream_logs:
        ctx.status(_FOLLOW_UP.format(job_id=job_id))
        ctx.out.write(render.to_yaml({"jobId": job_id, "state": created.get("state")}))
        return 0
    return _stream(ctx, job_id)


def cmd_describe(ctx: _Context) -> int:
    details = ctx.client().get_details(ctx.args.job)
    job = details.get("job") or {}
    if ctx.args.format == "json":
        ctx.out.write(render.to_json(job) + "\n")
    elif ctx.args.format == "yaml":
        ctx.out.write(render.to_yaml(job))
    else:
        ctx.out.write(render.describe(job, details))
    return 0


def cmd_list(ctx: _Context) -> int:
    a = ctx.args
    jobs = list(ctx.client().iter_jobs(limit=a.limit, page_size=a.page_size,
                                       filter_expr=a.filter))
    if a.format == "json":
        ctx.out.write(render.to_json(jobs) + "\n")
    elif jobs:
        ctx.out.write(render.jobs_table(jobs))
    else:
        ctx.status("Listed 0 items.")
    return 0


def cmd_images(ctx: _Context) -> int:
    machines = ctx.client().images().get("machines") or []
    if ctx.args.format == "json":
        ctx.out.write(render.to_json(machines) + "\n")
    elif machines:
        ctx.out.write(render.images_table(machines))
    else:
        ctx.status("No worker machine has reported yet (its workers do when they start: "
                   "make run, make worker).")
    return 0


def cmd_cancel(ctx: _Context) -> int:
    ctx.client().cancel_job(ctx.args.job)
    ctx.status(f"Cancelled job [{ctx.args.job}].")
    return 0


def cmd_stream_logs(ctx: _Context) -> int:
    return _stream(ctx, ctx.args.job, ctx.args.polling_interval)


ARGV_WARNING = (
    "WARNING: {how} puts the API token on the command line, which every local user can read "
    "(/proc/PID/cmdline, ps). Set HPDASH_TOKEN, or store it with `hpdash config set token` "
    "(it is then read from the terminal or standard input).")


def _read_token() -> str:
    """The token, typed (not echoed) or piped in: never on a command line."""
    if sys.stdin.isatty():
        token = getpass.getpass("API token: ")
    else:
        token = sys.stdin.readline()
    token = token.strip()
    if not token:
        raise settings.ConfigError("config set token: no token given on standard input")
    return token


def cmd_config(ctx: _Context) -> int:
    a = ctx.args
    path = settings.config_path()
    if a.command == "set":
        value = a.value
        if a.key == "token" and value in (None, "-"):
            value = _read_token()
        elif value is None:
            raise settings.ConfigError(f"config set {a.key}: give a value")
        elif a.key == "token":
            ctx.status(ARGV_WARNING.format(how="`config set token TOKEN`"))
        settings.set_value(path, a.key, value)
        ctx.status(f"Updated property [{a.key}] in {path}.")
    elif a.command == "unset":
        if settings.unset_value(path, a.key):
            ctx.status(f"Unset property [{a.key}] in {path}.")
        else:
            ctx.status(f"Property [{a.key}] was not set in {path}.")
    else:
        s = ctx.settings
        shown = {"url": s.url, "token": "********" if s.token else "(none)",
                 "project": s.project, "data_dir": s.data_dir or "(none)"}
        ctx.out.write(f"# config file: {path}\n" + render.to_yaml(shown))
    return 0


_COMMANDS: dict[tuple[str, str], Callable[[_Context], int]] = {
    ("jobs", "submit"): cmd_submit,
    ("jobs", "describe"): cmd_describe,
    ("jobs", "list"): cmd_list,
    ("jobs", "cancel"): cmd_cancel,
    ("jobs", "stream-logs"): cmd_stream_logs,
    ("images", ""): cmd_images,
    ("config", "set"): cmd_config,
    ("config", "unset"): cmd_config,
    ("config", "list"): cmd_config,
}


def _command_name(args: argparse.Namespace) -> str:
    parts = ["hpdash", args.group, *([args.command] if args.command else [])]
    if getattr(args, "kind", None):
        parts.append(args.kind)
    return ".".join(parts)


def split_user_args(argv: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """Everything after the first ``--`` is for the trainer (None: there is no ``--``)."""
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, None


GCLOUD_GROUP = "ai-platform"


def without_gcloud_group(argv: list[str]) -> list[str]:
    """A gcloud command pasted with only ``gcloud`` replaced (``hpdash ai-platform jobs …``)
    is the same command: gcloud's group name is dropped where hpdash's ``jobs`` starts."""
    for i, word in enumerate(argv[:-1]):
        if word == GCLOUD_GROUP and argv[i + 1] == "jobs":
            return argv[:i] + argv[i + 1:]
    return argv


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    own, user_args = split_user_args(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(without_gcloud_group(own))
    name = _command_name(args)
    if user_args is not None and (args.group, args.command) != ("jobs", "submit"):
        err.write(render.error(name, "arguments after `--` are only for `jobs submit "
                                     "training`"))
        return 1
    args.user_args = user_args
    try:
        ctx = _Context(args, out, err)
        return _COMMANDS[(args.group, args.command)](ctx)
    except ApiError as exc:
        err.write(render.api_error(name, exc))
    except ConnectionFailed as exc:
        err.write(render.error(name, f"{exc} (set the server with --url, HPDASH_URL or "
                                     "`hpdash config set url URL`)"))
    except (jobspec.UsageError, packaging.PackagingError, settings.ConfigError) as exc:
        err.write(render.error(name, str(exc)))
    except KeyboardInterrupt:
        err.write("\nInterrupted.\n")
    except BrokenPipeError:  # e.g. `hpdash jobs list | head -1`: not an error worth a word
        _silence_stdout()
    return 1


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; point it at /dev/null so that does not fail too.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

import os
import signal
import sys
import time

from hpdash.core.runner.process import ProcessOptions, run_process
from hpdash.core.states import StopReason


def _run(tmp_path, code, poll=lambda: None, **options):
    options.setdefault("poll_interval", 0.05)
    return run_process([sys.executable, "-c", code], dict(os.environ), str(tmp_path),
                       str(tmp_path / "log.txt"), poll=poll, options=ProcessOptions(**options))


def test_a_clean_exit_has_no_failure_cause_and_its_output_is_logged(tmp_path):
    out = _run(tmp_path, "print('hello from the trainer')")
    assert out.returncode == 0 and out.describe() == ""
    assert "hello from the trainer" in (tmp_path / "log.txt").read_text()


def test_a_non_zero_exit_is_reported_as_an_exit_code(tmp_path):
    assert _run(tmp_path, "import sys; sys.exit(3)").describe() == "exit code 3"


def test_a_killed_trainer_names_the_signal_and_hints_at_memory(tmp_path):
    out = _run(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert out.signal == signal.SIGKILL
    assert out.describe().startswith("killed by signal 9") and "out of memory" in out.describe()


def test_a_timeout_stops_the_trainer(tmp_path):
    start = time.monotonic()
    out = _run(tmp_path, "import time; time.sleep(30)", timeout=0.5, grace=1)
    assert out.timed_out and "timed out" in out.describe()
    assert out.stop_reason is StopReason.TIMED_OUT
    assert time.monotonic() - start < 10


def test_stopping_kills_a_trainer_that_ignores_sigterm_and_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    code = (
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import signal, time;"
        " signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(c.pid))\n"
        "time.sleep(60)\n"
    )
    calls = []

    def poll():
        calls.append(1)
        return StopReason.CANCELLED if pidfile.exists() and len(calls) > 3 else None

    start = time.monotonic()
    out = _run(tmp_path, code, poll=poll, grace=0.5)
    assert out.stop_reason is StopReason.CANCELLED
    assert time.monotonic() - start < 15
    child = int(pidfile.read_text())
    time.sleep(0.2)
    try:
        os.kill(child, 0)
        alive = open(f"/proc/{child}/stat").read().split()[2] != "Z"
    except ProcessLookupError:
        alive = False
    assert not alive, "the trainer's child outlived the trial"


def test_the_log_is_capped_and_says_so(tmp_path):
    out = _run(tmp_path, "import sys\nfor _ in range(2000): sys.stdout.write('x' * 1000)",
               log_cap_bytes=10_000)
    log = (tmp_path / "log.txt").read_bytes()
    assert out.log_truncated
    assert len(log) < 11_000 and b"log truncated" in log
    assert out.returncode == 0  # a chatty trainer is not blocked by a full pipe

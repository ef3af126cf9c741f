import os
import signal
import sys
import time

from hpdash.core.runner.process import ExitStatus, ProcessOutcome, TrainerProcess


def _run(tmp_path, code, stop_when=lambda: False, grace=5.0, **options) -> ExitStatus:
    proc = TrainerProcess([sys.executable, "-c", code], dict(os.environ), str(tmp_path),
                          str(tmp_path / "log.txt"), **options)
    try:
        while not proc.wait(0.05):
            if stop_when():
                proc.stop(grace)
                break
    finally:
        status = proc.end()
    return status


def _outcome(status: ExitStatus, timed_out=False, duration=1.0) -> ProcessOutcome:
    return ProcessOutcome(returncode=status.returncode, signal=status.signal,
                          timed_out=timed_out, stop_reason=None, duration=duration,
                          log_truncated=status.log_truncated)


def test_a_clean_exit_has_no_failure_cause_and_its_output_is_logged(tmp_path):
    out = _run(tmp_path, "print('hello from the trainer')")
    assert out.returncode == 0 and _outcome(out).describe() == ""
    assert "hello from the trainer" in (tmp_path / "log.txt").read_text()


def test_a_non_zero_exit_is_reported_as_an_exit_code(tmp_path):
    assert _outcome(_run(tmp_path, "import sys; sys.exit(3)")).describe() == "exit code 3"


def test_a_killed_trainer_names_the_signal_and_hints_at_memory(tmp_path):
    out = _outcome(_run(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    assert out.signal == signal.SIGKILL
    assert out.describe().startswith("killed by signal 9") and "out of memory" in out.describe()


def test_a_timed_out_trial_says_so_whatever_signal_ended_it():
    out = ProcessOutcome(returncode=None, signal=signal.SIGTERM, timed_out=True,
                         stop_reason=None, duration=12.3, log_truncated=False)
    assert out.describe() == "timed out after 12 s"


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
    start = time.monotonic()
    out = _run(tmp_path, code, stop_when=pidfile.exists, grace=0.5)
    assert out.signal == signal.SIGKILL
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

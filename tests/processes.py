"""Child processes for the tests that need one (Ctrl-C, servers): started cleanly, always ended."""

import contextlib
import os
import signal
import subprocess
import time

import pytest


def _sigint_default():
    # A shell script that starts the suite in the background makes SIGINT ignored for all its children, and
    # Python then installs no KeyboardInterrupt handler: Ctrl-C tests need it back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def started(argv, **popen):
    """A child process with SIGINT at its default whatever the suite's parent did, in a process group of its
    own that is killed when the block ends, so that nothing it started outlives the test.

    Its stderr is a pipe unless ``popen`` says otherwise: ``proc.communicate()`` collects it."""
    popen.setdefault("stderr", subprocess.PIPE)
    proc = subprocess.Popen([str(a) for a in argv], preexec_fn=_sigint_default, start_new_session=True, text=True,
                            **popen)  # fmt: skip
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def wait_until(condition, proc, timeout=120):
    """Polls ``condition()`` until it holds; fails at once, with the child's stderr, if the child ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the child ended with code {proc.returncode} before it got going: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            pytest.fail(f"nothing happened within {timeout} s")
        time.sleep(0.1)


def interrupt(proc, timeout=60):
    """Ctrl-C, as a terminal sends it; (return code, stderr)."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err

"""Processes that die with their parent, and SIGTERM handled like Ctrl-C.

* :func:`die_with_parent` — called in every worker process (data loaders, sample generators) and in
  every stage a pipeline starts: on Linux the kernel sends the process SIGKILL when its parent exits
  (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread polls the parent's pid. A killed trainer
  therefore leaves no worker, forkserver or stage behind.
* :func:`terminate_as_interrupt` — SIGTERM raises KeyboardInterrupt in the main thread, so the same
  cleanup as Ctrl-C runs (pools closed, state saved, temporary files removed).
"""
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _prctl_pdeathsig(sig):
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent, sig, interval):
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)
            return


def die_with_parent(sig=signal.SIGKILL, parent=None, interval=1.0):
    """Make this process receive ``sig`` when its parent (``parent`` pid, default the current
    parent) goes away. Safe to call more than once."""
    parent = os.getppid() if parent is None else parent
    if parent == os.getppid() and _prctl_pdeathsig(sig):
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)
        return
    threading.Thread(target=_watch, args=(parent, sig, interval), daemon=True).start()


def preexec_die_with_parent():
    """``preexec_fn`` for subprocesses: SIGTERM to the child when the parent dies (Linux; the child
    also watches its parent pid when it is one of this toolkit's commands, see :func:`watch_env`)."""
    _prctl_pdeathsig(signal.SIGTERM)


PARENT_ENV = 'MTCNN_PARENT_PID'


def watch_env():
    """In a command started by the pipeline: stop (SIGTERM) when the pipeline's process is gone."""
    pid = os.environ.get(PARENT_ENV)
    if pid and pid.isdigit() and int(pid) == os.getppid():
        die_with_parent(signal.SIGTERM, parent=int(pid))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def terminate_as_interrupt():
    """Handle SIGTERM (and SIGHUP) like Ctrl-C in this process (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
        if hasattr(signal, 'SIGHUP'):
            signal.signal(signal.SIGHUP, _raise_interrupt)


def alive(pid):
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, ValueError):
        return False

"""Processes that die with their parent, and SIGTERM handled like Ctrl-C.

* :func:`die_with_parent` — called in every stage a pipeline starts: on Linux the kernel sends the
  process a signal when its parent exits (``prctl(PR_SET_PDEATHSIG)``); elsewhere a daemon thread
  polls the parent's pid.
* :func:`die_with_starter` — called in every multiprocessing worker (data loaders, sample
  generators). Such a worker is forked by the forkserver, not by the process that asked for it, so a
  parent-death signal would wait for the forkserver; and the forkserver (with the resource tracker)
  only exits once every worker has closed its copy of their pipes. Each worker therefore watches the
  pipe that multiprocessing keeps open to the process that started it and kills itself when that
  pipe closes; the forkserver and the resource tracker then see their pipes close and exit too
  (the tracker unlinks any semaphore left in ``/dev/shm``). A killed trainer, ``gen_data.py`` or
  ``gen_hard_example.py`` — even by SIGKILL — leaves nothing running.
* :func:`worker_context` — the forkserver context every worker pool starts from, its server launched
  with Ctrl-C ignored so that each worker ignores it from its first instruction (a pool's
  initializer runs only after the worker has imported the main module: a Ctrl-C to the process
  group in between printed a worker's traceback).
* :func:`terminate_as_interrupt` — SIGTERM raises KeyboardInterrupt in the main thread, so the same
  cleanup as Ctrl-C runs (pools closed, state saved, temporary files removed).
"""
import contextlib
import ctypes
import os
import shutil
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


def _gone(pid):
    """True when process ``pid`` has exited (a zombie counts as exited)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True
    except OSError:
        return False


def _wait_then_kill(starter, sig, leftovers):
    from multiprocessing.connection import wait
    wait([starter.sentinel])  # readable (EOF) once the starting process has gone, however it ended
    # The kernel closes a dying process's files before it turns into a zombie, so the pipe can read EOF
    # a moment before /proc says the process is gone: wait for that moment (a process that exits
    # normally has removed its folders before its files close, so the removal below is then a no-op).
    t0 = time.time()
    while not _gone(starter.pid) and time.time() - t0 < 5:
        time.sleep(0.01)
    if _gone(starter.pid):  # it had no chance to remove its folders
        for folder in leftovers:
            shutil.rmtree(folder, ignore_errors=True)
    os.kill(os.getpid(), sig)


def die_with_starter(*leftovers, sig=signal.SIGKILL):
    """In a multiprocessing worker: receive ``sig`` as soon as the process that started it is gone
    (its parent in the multiprocessing sense, which under forkserver is not the OS parent). If that
    process died without cleaning up, the ``leftovers`` folders (e.g. its :func:`mp_temp_dir`, which
    holds the forkserver's socket) are removed first."""
    import multiprocessing as mp
    starter = mp.parent_process()
    if starter is None or getattr(starter, 'sentinel', None) is None:
        return die_with_parent(sig)
    threading.Thread(target=_wait_then_kill, args=(starter, sig, leftovers), daemon=True).start()


def mp_temp_dir():
    """The folder multiprocessing keeps this process's forkserver socket in (made on first use)."""
    from multiprocessing import util
    return util.get_temp_dir()


def worker_context():
    """The ``forkserver`` multiprocessing context, its server (and so every worker it forks) started
    with SIGINT ignored: Ctrl-C is the main process's to handle, which then closes the pool. Forkserver,
    not fork: forking a process that may hold MXNet/OpenMP locks can deadlock."""
    import multiprocessing as mp
    from multiprocessing import forkserver
    ctx = mp.get_context('forkserver')
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        forkserver.ensure_running()
        return ctx
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # kept across exec by the server
    try:
        forkserver.ensure_running()  # no-op once running
    finally:
        signal.signal(signal.SIGINT, previous)
    return ctx


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


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C / SIGTERM that says how to continue (``cli.run`` prints its message as the one line)."""


_HELD = {'depth': 0, 'pending': None}  # see deferred_signals


def _raise_interrupt(signum, frame):
    if _HELD['depth']:
        _HELD['pending'] = signum
        return
    raise KeyboardInterrupt('signal %d' % signum)


def terminate_as_interrupt():
    """Handle SIGTERM (and SIGHUP) like Ctrl-C in this process, and Ctrl-C as before but deferrable
    (see :func:`deferred_signals`); a Ctrl-C that the process was started ignoring stays ignored
    (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
        if hasattr(signal, 'SIGHUP'):
            signal.signal(signal.SIGHUP, _raise_interrupt)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _raise_interrupt)


@contextlib.contextmanager
def deferred_signals():
    """Hold Ctrl-C / SIGTERM / SIGHUP until the block ends, for the few lines that must run whole
    (storing one item's results and counting it), so that the state an interrupted run saves always
    describes the bytes it wrote. Python runs signal handlers in the main thread between bytecodes,
    whichever thread the signal reached; the handlers of :func:`terminate_as_interrupt` note a signal
    that comes inside such a block and raise it as it ends. (Blocking the signal mask would not do:
    a signal for the process is delivered to any thread that does not block it, a pool's helper
    threads included, and the main thread then runs the handler all the same.)"""
    _HELD['depth'] += 1
    try:
        yield
    finally:
        _HELD['depth'] -= 1
        if not _HELD['depth'] and _HELD['pending'] is not None:
            signum, _HELD['pending'] = _HELD['pending'], None
            raise KeyboardInterrupt('signal %d' % signum)


def alive(pid):
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, ValueError):
        return False

"""Shared test helpers: the location of ../shared and skipping without it."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from config import config  # noqa: E402

SHARED = config.shared


def shared_path(*parts):
    """Path under the shared folder, skipping the test with a reason when it is absent."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip('reference data not available: %s (set MTCNN_SHARED)' % path)
    return path


def landmark_sublist(dst, name, n):
    """The first ``n`` lines of the shared 5-point list ``name`` written to ``dst`` with absolute image
    paths (skips without the shared folder); returns ``dst`` as a string."""
    src = shared_path('data', 'landmarks5', name)
    base = os.path.dirname(src)
    lines = open(src).read().splitlines()[:n]
    with open(dst, 'w') as f:
        f.write(''.join(os.path.join(base, ln.split()[0]) + ' ' + ' '.join(ln.split()[1:]) + '\n' for ln in lines))
    return str(dst)


def random_model(name, with_landmark=False, seed=0):
    """A registered net with He-scaled random weights and non-trivial BatchNorm statistics."""
    import numpy as np
    import mxnet as mx
    import symbols
    from core.runtime.model_io import InferenceModel
    sym = symbols.get_symbol(name, with_landmark=with_landmark)
    size = symbols.network_info(name)['size']
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, size, size))
    rng = np.random.RandomState(seed)
    arg = {}
    for n, s in zip(sym.list_arguments(), arg_shapes):
        if n == 'data':
            continue
        if n.endswith('_weight'):
            v = rng.normal(0, np.sqrt(1.0 / max(1, np.prod(s[1:]))), s)
        elif n.endswith('_gamma') and 'bn' not in n and 'batchnorm' not in n:
            v = rng.uniform(0.1, 0.4, s)  # PReLU slopes
        elif n.endswith('_gamma'):
            v = rng.uniform(0.5, 1.5, s)
        else:
            v = rng.normal(0, 0.1, s)
        arg[n] = mx.nd.array(v)
    aux = {n: mx.nd.array(rng.uniform(0.5, 2.0, s) if 'var' in n else rng.normal(0, 0.1, s))
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    return InferenceModel(sym, arg, aux, network=name, with_landmark=with_landmark)


def processes_marked(mark):
    """Pids of the processes whose environment carries ``mark`` (everything a command started inherits it)."""
    found = []
    for pid in os.listdir('/proc') if os.path.isdir('/proc') else []:
        if pid.isdigit():
            try:
                with open('/proc/%s/environ' % pid, 'rb') as f:
                    if mark.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                pass
    return found


def leftover_entries():
    """Entries of /dev/shm and of the temp folder that this toolkit or multiprocessing could leave behind."""
    import tempfile
    names = ['/dev/shm/' + n for n in os.listdir('/dev/shm')] if os.path.isdir('/dev/shm') else []
    names += [os.path.join(tempfile.gettempdir(), n) for n in os.listdir(tempfile.gettempdir())]
    return {n for n in names if 'mtcnn' in os.path.basename(n) or os.path.basename(n).startswith(('sem.mp', 'pymp-'))}


# Every process a test starts inherits this mark; none may outlive the session except the ones this
# pytest process still owns (its own forkserver and resource tracker, which exit with it).
SESSION_MARK = 'mtcnn-test-%d-%d' % (os.getpid(), id(object()))
os.environ['MTCNN_TEST_SESSION'] = SESSION_MARK


def _parent(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return int(f.read().rsplit(')', 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().decode(errors='replace')
    except OSError:
        return ''


def stray_processes(mark=SESSION_MARK):
    """Processes carrying ``mark`` in their environment, except this pytest process's own multiprocessing
    helpers (forkserver, resource tracker, and the workers they started), which exit with it."""
    me, found = os.getpid(), []
    for name in os.listdir('/proc') if os.path.isdir('/proc') else []:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open('/proc/%s/environ' % name, 'rb') as f:
                if mark.encode() not in f.read():
                    continue
        except OSError:
            continue
        pid, ancestor, helper = int(name), int(name), False
        while ancestor > 1 and ancestor != me:
            helper = helper or 'multiprocessing.' in _cmdline(ancestor)
            ancestor = _parent(ancestor)
        if not (ancestor == me and helper):
            found.append(pid)
    return found


def pytest_sessionfinish(session, exitstatus):
    import signal
    import time
    temp = temp_left(session.config)
    ours = sorted(n for n in temp if n == '.ses' or 'mtcnn' in n or n.startswith(('pymp-', '_')))
    if ours:  # this toolkit's or a test's: nothing may stay in the temp folder
        print('\nerror: left in the temp folder: %s' % ', '.join(ours))
        session.exitstatus = 1
    elif temp:
        print('\nnote: new in the temp folder during the tests (other processes?): %s' % ', '.join(sorted(temp)))
    left = stray_processes()
    for _ in range(50):
        if not left:
            return
        time.sleep(0.2)
        left = stray_processes()
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    print('\nerror: %d process(es) outlived the tests (killed): %s' % (len(left), left))
    session.exitstatus = 1



def pytest_sessionstart(session):
    import tempfile
    session.config._temp_before = set(os.listdir(tempfile.gettempdir()))


def temp_left(config):
    """What the tests left in the temp folder (pytest's own tmp_path folders aside)."""
    import tempfile
    before = getattr(config, '_temp_before', None)
    if before is None:
        return set()
    import multiprocessing as mp
    own = mp.current_process()._config.get('tempdir')  # this process's forkserver folder, removed as it exits
    return {n for n in set(os.listdir(tempfile.gettempdir())) - before
            if not n.startswith('pytest-of-') and (not own or n != os.path.basename(own))}

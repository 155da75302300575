"""The training graph's one-pass PReLU: an MXNet extension operator (``csrc/prelu_op.cc``), compiled on first
use for this machine's CPU and loaded with ``mx.library.load``.

MXNet 1.9's own CPU ``LeakyReLU(prelu)`` backward is an order of magnitude slower than a whole Pnet step,
so training graphs used ``x + (γ − 1)·min(x, 0)`` (three elementwise passes each way, about 60 % of an Onet
step's operator time). ``mtcnn_prelu`` computes the same function and gradients in one pass each way
(tested against the decomposition). Once loaded, ``symbols.layers.prelu`` builds training graphs with it;
inference graphs keep ``LeakyReLU``, so checkpoints, exports and their parameters are unchanged.

The library is built with the C++ compiler (``CXX``, default ``g++``) into ``build/`` beside the code
(``MTCNN_BUILD`` moves it), once per CPU and source version, atomically. Without a compiler, or with
``MTCNN_FUSED_PRELU=0``, training runs the decomposition, slower and otherwise the same.
"""
import hashlib
import logging
import os
import subprocess
import tempfile

from config import REPO_ROOT

log = logging.getLogger('train')
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'csrc', 'prelu_op.cc')
_STATE = {}


def _cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            return next((ln for ln in f if ln.startswith(('flags', 'Features'))), '')
    except OSError:
        return ''


def library_path():
    """Where the library for this CPU, this source and this MXNet lives."""
    import mxnet as mx
    key = hashlib.sha1((open(SOURCE).read() + _cpu_flags() + mx.__version__).encode()).hexdigest()[:12]
    return os.path.join(os.environ.get('MTCNN_BUILD', os.path.join(REPO_ROOT, 'build')), 'mtcnn_ops-%s.so' % key)


def build(path):
    """Compile the operator library into ``path`` (atomically: concurrent builds each write their own file)."""
    import mxnet as mx
    root = os.path.dirname(mx.__file__)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.so', dir=os.path.dirname(path))
    os.close(fd)
    cmd = [os.environ.get('CXX', 'g++'), '-shared', '-fPIC', '-std=c++11', '-O3', '-march=native',
           '-I' + os.path.join(root, 'include'), '-o', tmp, SOURCE, os.path.join(root, 'src', 'lib_api.cc')]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise OSError('compiling %s failed: %s' % (SOURCE, (r.stderr or r.stdout).strip()[-500:]))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load():
    """Load ``mtcnn_prelu`` (building it first when needed); True when training graphs will use it."""
    if 'loaded' in _STATE:
        return _STATE['loaded']
    import mxnet as mx
    ok = False
    if os.environ.get('MTCNN_FUSED_PRELU', '1') != '0':
        try:
            path = library_path()
            if not os.path.isfile(path):
                build(path)
            mx.library.load(path, verbose=False)
            ok = hasattr(mx.sym, 'mtcnn_prelu')
        except (OSError, mx.base.MXNetError) as exc:
            log.warning('the one-pass PReLU is not available (%s); training uses the slower decomposition',
                        str(exc).strip().splitlines()[-1][:200])
    _STATE['loaded'] = ok
    return ok

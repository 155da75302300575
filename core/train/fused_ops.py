"""The training graph's one-pass PReLU: an MXNet extension operator (``csrc/prelu_op.cc``), compiled on first
use for this machine's CPU and loaded with ``mx.library.load``.

MXNet 1.9's own CPU ``LeakyReLU(prelu)`` backward is an order of magnitude slower than a whole Pnet step,
so training graphs used ``x + (γ − 1)·min(x, 0)`` (three elementwise passes each way, about 60 % of an Onet
step's operator time). ``mtcnn_prelu`` computes the same function and gradients in one pass each way
(tested against the decomposition). Once loaded, ``symbols.layers.prelu`` builds training graphs with it;
inference graphs keep ``LeakyReLU``, so checkpoints, exports and their parameters are unchanged.

The library is built with the C++ compiler (``CXX``, default ``g++``) into ``build/`` beside the code
(``MTCNN_BUILD`` moves it), once per CPU, source and MXNet version, atomically (:mod:`core.common.native`).
Without a compiler, or with ``MTCNN_FUSED_PRELU=0``, training runs the decomposition, slower and otherwise
the same.

:func:`training_prelu` picks a run's form (``symbols.layers.prelu``): the operator on CPUs where it loads,
else (GPUs: ``mtcnn_prelu`` has no GPU kernel) the decomposition.
"""
import logging
import os

log = logging.getLogger('train')
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'csrc', 'prelu_op.cc')
_STATE = {}


def library_path():
    """The operator library for this CPU, this source and this MXNet (built first when absent)."""
    import mxnet as mx
    from core.common.native import compiled
    root = os.path.dirname(mx.__file__)
    return compiled(SOURCE, ['-std=c++11', '-O3', '-march=native', '-I' + os.path.join(root, 'include')],
                    [os.path.join(root, 'src', 'lib_api.cc')], cxx=True, key=mx.__version__)


def load():
    """Load ``mtcnn_prelu`` (building it first when needed); True when training graphs will use it."""
    if 'loaded' in _STATE:
        return _STATE['loaded']
    import mxnet as mx
    ok = False
    if os.environ.get('MTCNN_FUSED_PRELU', '1') != '0':
        try:
            mx.library.load(library_path(), verbose=False)
            ok = hasattr(mx.sym, 'mtcnn_prelu')
        except (OSError, mx.base.MXNetError) as exc:
            log.warning('the one-pass PReLU is not available (%s); training uses the slower decomposition',
                        str(exc).strip().splitlines()[-1][:200])
    _STATE['loaded'] = ok
    return ok


def training_prelu(gpu=False):
    """The PReLU form of this run's training graph: ``'fused'`` on CPUs where the operator loads, else
    ``'decomposed'``."""
    return 'fused' if not gpu and load() else 'decomposed'

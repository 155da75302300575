"""Device contexts with a clear message when a GPU is asked for on a CPU-only MXNet build."""
import symbols  # noqa: F401  (sets the MXNet environment first)
import mxnet as mx
from .errors import SettingError

CPU_BUILD_HINT = ('this MXNet is a CPU-only build; for GPUs install the CUDA wheel '
                  '(MXNET_VARIANT=cu112 bash scripts/env.sh, see the README) or drop --gpus')


def available_gpus():
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


def gpu_context(i):
    """``mx.gpu(i)`` after checking that the build and the machine have it."""
    if not mx.runtime.Features().is_enabled('CUDA'):
        raise SettingError('GPU %d requested: %s' % (i, CPU_BUILD_HINT))
    n = available_gpus()
    if not 0 <= i < n:
        raise SettingError('GPU %d requested but this machine has %d GPU(s)' % (i, n))
    return mx.gpu(i)


def contexts(gpus):
    """``'0,1'`` -> [gpu(0), gpu(1)]; empty -> [cpu()]."""
    ids = [g.strip() for g in str(gpus or '').split(',') if g.strip() != '']
    if not ids:
        return [mx.cpu()]
    try:
        return [gpu_context(int(g)) for g in ids]
    except ValueError as exc:
        if 'invalid literal' in str(exc):
            raise SettingError('--gpus takes GPU ids like 0 or 0,1, got %r' % gpus)
        raise

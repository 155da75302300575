"""The training process's compute threads: chosen from the cores the loader workers leave, set before
MXNet starts.

MXNet reads ``OMP_NUM_THREADS`` once, when it is loaded, and otherwise runs half the cores, whatever the
loader needs. Measured on a 2-vCPU machine (``tools/bench_speed.py``'s data, batches of 256, the one-pass
PReLU; samples/s with 1 and 2 OpenMP threads, 2 loader workers): Pnet20_v1 16,923 / 9,049, Rnet_v1
5,463 / 4,681, Onet_v1 1,186 / 895 (with 1 loader worker: 16,178 / 7,999, 5,316 / 4,922, 1,340 / 912).
The loader workers run on the cores the compute does not use, so the rule is: the cores the loader
workers leave, at least one. ``--threads N`` (or ``OMP_NUM_THREADS`` in the environment) overrides it.
"""
import os
import sys

_CHOSEN = {}


def choose(threads, workers, cores=None):
    """(number of compute threads, how it was chosen)."""
    if threads:
        return int(threads), '--threads'
    env = os.environ.get('OMP_NUM_THREADS', '')
    if env.isdigit() and int(env) > 0:
        return int(env), 'OMP_NUM_THREADS'
    cores = cores or os.cpu_count() or 1
    return max(1, cores - int(workers)), '%d cores - %d loader workers' % (cores, int(workers))


def apply(threads, workers):
    """Set the compute threads for MXNet, which must not be loaded yet (the training entry points call this
    first); a no-op when it is (then :func:`describe` says so)."""
    if 'mxnet' in sys.modules:
        return
    n, why = choose(threads, workers)
    os.environ['OMP_NUM_THREADS'] = str(n)
    _CHOSEN.update(n=n, why=why)


def describe():
    """The log line: how many compute threads this process runs, and why."""
    if _CHOSEN:
        return 'compute threads: %d (%s)' % (_CHOSEN['n'], _CHOSEN['why'])
    env = os.environ.get('OMP_NUM_THREADS')
    return 'compute threads: %s' % ('%s (OMP_NUM_THREADS)' % env if env else
                                    "MXNet's default, half the cores (MXNet was loaded before the trainer could "
                                    "choose: set OMP_NUM_THREADS)")

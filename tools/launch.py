"""Start an MXNet parameter-server job on this machine: a scheduler, servers and workers
(DMLC_* environment), e.g. two workers training one net with ``--kvstore dist_sync``:

    python tools/launch.py -n 2 -s 1 -- python train_P20.py --image_set train_20_1 --kvstore dist_sync

For several machines run the same roles on each host with ``DMLC_PS_ROOT_URI`` pointing at the
scheduler (``--role``/``--root_uri``); this script covers the single-host case and the tests.
Exits with the first non-zero worker status.
"""
import argparse
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

SERVER_CMD = [sys.executable, '-c', 'import mxnet']  # with DMLC_ROLE=server/scheduler this serves


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def launch(command, workers=2, servers=1, root_uri='127.0.0.1', port=None, env=None, timeout=None):
    """Run ``command`` as ``workers`` workers; returns their exit codes. A worker that fails stops the
    job at once (the others would wait for it forever), and every process dies with this one."""
    import time
    from core.common.lifecycle import preexec_die_with_parent
    port = port or free_port()
    base = dict(os.environ if env is None else env)
    base.update(DMLC_PS_ROOT_URI=root_uri, DMLC_PS_ROOT_PORT=str(port), DMLC_NUM_SERVER=str(servers),
                DMLC_NUM_WORKER=str(workers), MXNET_SUBGRAPH_BACKEND='NONE', OMP_NUM_THREADS='1')
    if root_uri.startswith('127.'):
        base.setdefault('DMLC_INTERFACE', 'lo')
    start = lambda cmd, **kw: subprocess.Popen(cmd, env=dict(base, **kw), preexec_fn=preexec_die_with_parent)  # noqa
    procs = [start(SERVER_CMD, DMLC_ROLE='scheduler')] + [start(SERVER_CMD, DMLC_ROLE='server') for _ in range(servers)]
    work = [start(command, DMLC_ROLE='worker', DMLC_WORKER_ID=str(i)) for i in range(workers)]
    t0 = time.time()
    try:
        while any(p.poll() is None for p in work):
            if any(p.poll() not in (None, 0) for p in work):
                break  # one worker failed: the others would block in the kvstore
            if timeout and time.time() - t0 > timeout:
                raise TimeoutError('workers still running after %d s' % timeout)
            time.sleep(0.2)
        codes = [p.poll() if p.poll() is not None else -9 for p in work]
        if all(c == 0 for c in codes):
            for p in procs:
                p.wait(timeout=60)
    finally:
        for p in procs + work:
            if p.poll() is None:
                p.kill()
    return codes


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('-n', '--num_workers', type=int, default=2)
    ap.add_argument('-s', '--num_servers', type=int, default=1)
    ap.add_argument('--root_uri', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=None)
    ap.add_argument('command', nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not cmd:
        ap.error('give the worker command after --')
    codes = launch(cmd, args.num_workers, args.num_servers, args.root_uri, args.port)
    bad = [c for c in codes if c]
    print('workers exited with %s' % codes)
    return bad[0] if bad else 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

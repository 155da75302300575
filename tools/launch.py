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

SERVER_CMD = [sys.executable, '-c', 'import mxnet']  # with DMLC_ROLE=server/scheduler this serves


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def launch(command, workers=2, servers=1, root_uri='127.0.0.1', port=None, env=None, timeout=None):
    """Run ``command`` as ``workers`` workers; returns their exit codes."""
    port = port or free_port()
    base = dict(os.environ if env is None else env)
    base.update(DMLC_PS_ROOT_URI=root_uri, DMLC_PS_ROOT_PORT=str(port), DMLC_NUM_SERVER=str(servers),
                DMLC_NUM_WORKER=str(workers), MXNET_SUBGRAPH_BACKEND='NONE', OMP_NUM_THREADS='1')
    if root_uri.startswith('127.'):
        base.setdefault('DMLC_INTERFACE', 'lo')
    procs = [subprocess.Popen(SERVER_CMD, env=dict(base, DMLC_ROLE='scheduler'))]
    procs += [subprocess.Popen(SERVER_CMD, env=dict(base, DMLC_ROLE='server')) for _ in range(servers)]
    work = [subprocess.Popen(command, env=dict(base, DMLC_ROLE='worker', DMLC_WORKER_ID=str(i)))
            for i in range(workers)]
    try:
        codes = [p.wait(timeout=timeout) for p in work]
        for p in procs:
            p.wait(timeout=60)
    finally:
        for p in procs + work:
            if p.poll() is None:
                p.kill()
    return codes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
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
    sys.exit(main())

"""Check the GPU training path: each stage (Pnet, Rnet, Onet) trained for one short epoch on the
device and on the CPU from the same seed and the same batches; their per-batch losses must agree
within ``--rtol`` (float rounding and cuDNN's algorithms differ, nothing else may), and the samples/s
of each are printed. Run by ``scripts/gpu_check.sh`` (which installs the CUDA build of MXNet first);
``--gpus ''`` runs the same comparison CPU against CPU (the test suite's check of this script).

    python tools/gpu_check.py --gpus 0          # one GPU
    python tools/gpu_check.py --gpus 0,1        # data-parallel on two

Data: the embedded demo set (no download), ``--images`` training images, samples generated here.
The last line is ``gpu_check=ok`` or ``gpu_check=FAILED (...)``.
"""
import csv
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = (('P', 'train_P20.py', 'Pnet20_v1', 20), ('R', 'train_R.py', 'Rnet_v1', 24), ('O', 'train_O.py', 'Onet_v1', 48))


def _py(args, **kw):
    r = subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError('%s failed:\n%s' % (' '.join(args[:2]), (r.stdout + r.stderr)[-3000:]))
    return r


def make_lists(work, images, seed):
    """{size: image list} of positives, parts and negatives from the demo set's first ``images``."""
    from prepare_data.demo_set import make_demo_set
    make_demo_set(os.path.join(work, 'demo'), seed=seed)
    anno = os.path.join(work, 'anno.txt')
    _py(['prepare_data/gen_anno_and_train_list.py', '--wider_root', os.path.join(work, 'demo'), '--anno', anno,
         '--list', os.path.join(work, 'train.txt')])
    lists = {}
    for _, _, _, size in STAGES:
        _py(['prepare_data/gen_data.py', '--size', str(size), '--anno', anno, '--out', os.path.join(work, 'samples'),
             '--limit', str(images), '--workers', '1', '--seed', str(seed)])
        lists[size] = os.path.join(work, 'list_%d.txt' % size)
        _py(['prepare_data/gen_imglist.py', '--size', str(size), '--samples', os.path.join(work, 'samples'),
             '--out', lists[size], '--seed', str(seed)])
    return lists


def train(script, network, image_list, prefix, gpus, batch, seed):
    """Per-batch (loss, speed) rows of one epoch."""
    _py([script, '--network', network, '--image_set', image_list, '--prefix', prefix, '--end_epoch', '1',
         '--lr', '0.01', '--batch_size', str(batch), '--frequent', '1', '--workers', '0', '--seed', str(seed),
         '--micro_batch', '0', '--no_ohem', '--quiet', '--gpus', gpus])
    with open(prefix + '-metrics.csv') as f:
        rows = [r for r in csv.DictReader(f) if r['phase'] == 'train']
    return [(float(r['loss']), float(r['speed'])) for r in rows]


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--gpus', default='0', help="GPU ids to check (empty: CPU against CPU)")
    ap.add_argument('--images', type=int, default=60, help='demo training images to make samples from')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--batches', type=int, default=20, help='compare the losses of the first N batches')
    ap.add_argument('--rtol', type=float, default=2e-3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--work', default=None, help='working folder (default: a temporary one, removed)')
    args = ap.parse_args(argv)
    import shutil
    work = args.work or tempfile.mkdtemp(prefix='mtcnn-gpucheck-')
    failures = []
    try:
        lists = make_lists(work, args.images, args.seed)
        for name, script, network, size in STAGES:
            runs = {dev: train(script, network, lists[size], os.path.join(work, 'model', '%s_%s' % (name, dev or 'cpu')),
                               g, args.batch, args.seed)
                    for dev, g in (('device', args.gpus), ('cpu', ''))}
            # several devices sum their gradients (as the original's Module): only the first batch, from the
            # same weights, must match one CPU's
            n = 1 if len([g for g in args.gpus.split(',') if g.strip()]) > 1 else args.batches
            a, b = runs['device'][:n], runs['cpu'][:n]
            worst = max(abs(x[0] - y[0]) / max(abs(y[0]), 1e-6) for x, y in zip(a, b)) if a and b else float('inf')
            speed = {k: sum(s for _, s in v) / max(1, len(v)) for k, v in runs.items()}
            ok = worst <= args.rtol and len(a) == len(b)
            print('%s %-9s %d batches: largest loss difference %.2e (rtol %.0e) %s; samples/s: %s %.0f, CPU %.0f'
                  % (name, network, len(a), worst, args.rtol, 'ok' if ok else 'DIFFERENT',
                     'GPU ' + args.gpus if args.gpus else 'CPU', speed['device'], speed['cpu']), flush=True)
            if not ok:
                failures.append(name)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print('gpu_check=%s' % ('ok' if not failures else 'FAILED (%s)' % ', '.join(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

"""Detector speed: median milliseconds per image and per stage, single process, CPU.

    python tools/bench_detector.py --image ../shared/images/4.jpg --runs 20
    python tools/bench_detector.py --wider_root ../shared/data/widerface --images 50

Model flags as demo.py (default: the original's shipped models in ../shared). With
``--backend all`` (default; ``both`` is its old name) each backend (MXNet, ONNX Runtime, OpenCV DNN) runs
in its own process so their thread pools do not compete; the last line is ``median_ms=<float>`` of the
fastest backend on ``--image``. ``--scheme zqcnn`` times ZQCNN's candidate flow (scripts/zqcnn_race.sh
races it against ZQCNN's C++ on the same models).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from cli import config  # noqa: E402


def _median(values):
    values = sorted(values)
    n = len(values)
    return 0.0 if n == 0 else (values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2]))


def measure(det, images, runs, warmup=2):
    """Median total and per-stage ms over ``runs`` passes of each image."""
    from core.detect.detector import Trace
    totals, stages, trace = [], {}, Trace()
    for img in images:
        for i in range(warmup + runs):
            trace = Trace()
            t0 = time.perf_counter()
            det.detect(img, trace=trace)
            dt = time.perf_counter() - t0
            if i >= warmup:
                totals.append(dt * 1000)
                for k, v in trace.times.items():
                    stages.setdefault(k, []).append(v * 1000)
    return _median(totals), {k: _median(v) for k, v in stages.items()}, dict(trace.counts)


def run_one(args):
    import cv2
    det = cli.detector_from_args(args)
    img = cv2.imread(args.image)
    if img is None:
        raise SystemExit('error: cannot read image %s' % args.image)
    res = {'backend': args.backend}
    res['image_ms'], res['image_stages'], res['counts'] = measure(det, [img], args.runs)
    if args.wider_root:
        files = sorted(glob.glob(os.path.join(args.wider_root, 'WIDER_val', 'images', '*', '*.jpg')))
        files = files[:args.images]
        imgs = [cv2.imread(f) for f in files]
        res['wider_n'] = len(imgs)
        res['wider_ms'], res['wider_stages'], _ = measure(det, imgs, 1, warmup=0)
    return res


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_detector_args(ap, committed_defaults=False)
    ap.set_defaults(backend=None)
    from core.detect.cascade import BACKENDS
    ap._option_string_actions['--backend'].choices = list(BACKENDS) + ['all', 'both']
    ap.add_argument('--image', default=os.path.join(config.shared, 'images', '4.jpg'))
    ap.add_argument('--runs', type=cli.number(int, low=1), default=20)
    ap.add_argument('--wider_root', default=None, help='also time the WIDER val images under this root')
    ap.add_argument('--images', type=cli.number(int, low=1), default=50, help='how many WIDER val images')
    ap.add_argument('--json', action='store_true', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    backend = args.backend or 'all'
    if backend not in ('all', 'both'):
        res = run_one(args)
        if args.json:
            print('RESULT ' + json.dumps(res))
            return 0
        results = [res]
    else:
        results = []
        base = [a for a in (argv if argv is not None else sys.argv[1:])]
        for b in BACKENDS:
            cmd = [sys.executable, os.path.abspath(__file__)] + base + ['--backend', b, '--json']
            out = subprocess.run(cmd, capture_output=True, text=True)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith('RESULT ')]
            if out.returncode or not line:
                sys.stderr.write(out.stderr[-2000:])
                raise SystemExit('error: %s backend run failed' % b)
            results.append(json.loads(line[0][len('RESULT '):]))
    print('image: %s, %d runs; counts %s' % (args.image, args.runs, results[0]['counts']))
    print('%-7s %10s  %s' % ('backend', 'median ms', 'per stage (median ms)'))
    for r in results:
        stages = ' '.join('%s=%.1f' % kv for kv in r['image_stages'].items())
        print('%-7s %10.1f  %s' % (r['backend'], r['image_ms'], stages))
        if 'wider_ms' in r:
            stages = ' '.join('%s=%.1f' % kv for kv in r['wider_stages'].items())
            print('%-7s %10.1f  %s  (WIDER val, %d images)' % ('', r['wider_ms'], stages, r['wider_n']))
    best = min(results, key=lambda r: r['image_ms'])
    print('fastest backend: %s' % best['backend'])
    print('median_ms=%.2f' % best['image_ms'])
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

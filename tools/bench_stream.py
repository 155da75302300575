"""Throughput of detection over many images: the one-image loop against the folder tool's ways (a pool of
processes, batches in one process), in alternating rounds; and frames per second on a 640×480 video.

    python tools/bench_stream.py --folder ../shared/data/widerface/WIDER_val/images --rounds 2

The cascade is an export of the default models at their default point (``tools/export.py --to onnx`` into
a temporary folder, or ``--models``). Every way reads each image from disk, as ``tools/detect_onnx.py``
does; the one-image loop is one process with ``--threads`` runtime threads calling ``detect`` image after
image. Prints images/s per way and round, the ratio to the loop, and ``speedup=<best way / loop>``.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.detect_onnx import IMAGE_TYPES, Results, detect_all, load_onnx_cascade  # noqa: E402


def _paths(folder, limit):
    paths = sorted(p for p in glob.glob(os.path.join(folder, '**', '*'), recursive=True)
                   if p.lower().endswith(IMAGE_TYPES))
    return paths[:limit or None]


def loop(models, paths, threads):
    from core.common.image import read_image
    det = load_onnx_cascade(models, threads)
    t0 = time.perf_counter()
    for p in paths:
        det.detect(read_image(p))
    return len(paths) / (time.perf_counter() - t0)


def tool(models, paths, workers, batch, threads):
    """images/s of the folder tool's code path (a pool of ``workers`` processes, or batches of ``batch``)."""
    args = argparse.Namespace(models=models, video=None, imgfile=None, folder='(list)', every=1, save_dets=None,
                              out=None, align=None, crops=None, threads=threads, workers=workers, batch=batch,
                              scheme='original', runs=0, max_pixels=0)
    det = load_onnx_cascade(models, threads)
    import tools.detect_onnx as D
    saved = D._images
    D._images = lambda _: paths
    try:
        t0 = time.perf_counter()
        detect_all(det, args, Results(None))
        return len(paths) / (time.perf_counter() - t0)
    finally:
        D._images = saved


def video_fps(models, threads, frames=120):
    """Frames/s over a 640x480 video of 4.jpg moving a few pixels per frame (MJPG in an .avi)."""
    import cv2
    import numpy as np
    from config import config
    img = cv2.resize(cv2.imread(os.path.join(config.shared, 'images', '4.jpg')), (640, 480))
    path = os.path.join(tempfile.mkdtemp(prefix='mtcnn-bench-'), 'clip.avi')
    try:
        out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 25, (640, 480))
        for k in range(frames):
            out.write(np.roll(img, (k % 20) - 10, axis=1))
        out.release()
        det = load_onnx_cascade(models, threads)
        cap = cv2.VideoCapture(path)
        n, t0 = 0, time.perf_counter()
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            det.detect(frame)
            n += 1
        cap.release()
        return n / (time.perf_counter() - t0)
    finally:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--folder', required=True, help='images (searched recursively)')
    ap.add_argument('--models', default=None, help='an exported cascade folder (default: the default models, '
                    'exported now)')
    ap.add_argument('--limit', type=int, default=0, help='only the first N images')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2, help='runtime threads of the one-image loop and the batches')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--batch', type=int, default=8)
    args = ap.parse_args(argv)
    paths = _paths(args.folder, args.limit)
    if not paths:
        print('error: no images in %s' % args.folder, file=sys.stderr)
        return 2
    tmp = None
    models = args.models
    if not models:
        tmp = tempfile.mkdtemp(prefix='mtcnn-bench-')
        models = os.path.join(tmp, 'onnx')
        r = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), 'export.py'), '--to', 'onnx',
                            '--out', models], capture_output=True, text=True)
        if r.returncode:
            print(r.stderr, file=sys.stderr)
            return 1
    try:
        ways = [('one-image loop, %d threads' % args.threads, lambda: loop(models, paths, args.threads)),
                ('pool of %d processes, 1 thread each' % args.workers,
                 lambda: tool(models, paths, args.workers, 1, 1)),
                ('pool of %d, batches of %d' % (args.workers, args.batch // 2),
                 lambda: tool(models, paths, args.workers, args.batch // 2, 1)),
                ('batches of %d, %d threads' % (args.batch, args.threads),
                 lambda: tool(models, paths, 1, args.batch, args.threads))]
        rates = {name: [] for name, _ in ways}
        for r in range(args.rounds):
            for name, fn in (ways if r % 2 == 0 else ways[::-1]):  # alternating order: the machine drifts
                rates[name].append(fn())
                print('round %d  %-36s %6.2f images/s' % (r + 1, name, rates[name][-1]), flush=True)
        base = sum(rates[ways[0][0]]) / args.rounds
        for name, v in rates.items():
            print('%-36s %6.2f images/s  %.2fx' % (name, sum(v) / len(v), sum(v) / len(v) / base))
        print('video 640x480: %.1f frames/s (one process, %d threads)' % (video_fps(models, args.threads),
                                                                          args.threads))
        print('speedup=%.2f' % (max(sum(v) / len(v) for v in rates.values()) / base))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())

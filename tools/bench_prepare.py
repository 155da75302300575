"""Sample-generation benchmark: packed multi-process writer vs the original's way (one JPEG file
per crop, single process), same sampling, same images.

    python tools/bench_prepare.py --wider_root ../shared/data/widerface --size 20 --images 1239

Ends with ``packed_crops_per_s=<float> baseline_crops_per_s=<float> files=<int>`` (files = files the
packed writer created). Also reports the main process's peak memory, which stays flat because
crops are streamed to disk image by image.
"""
import os
import resource
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

from core.recipes.pipeline_recipe import StagePlan  # noqa: E402
from prepare_data.gen_data import generate  # noqa: E402
from prepare_data.wider import build_annotations, read_mat, write_annotations  # noqa: E402


def count_files(folder):
    return sum(len(files) for _, _, files in os.walk(folder))


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--wider_root', required=True)
    ap.add_argument('--size', type=int, default=20)
    ap.add_argument('--images', type=int, default=0, help='first N train images (0 = all)')
    ap.add_argument('--base_num', type=int, default=StagePlan.base_num)
    ap.add_argument('--workers', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--keep', default=None, help='keep the outputs in this folder')
    args = ap.parse_args(argv)
    work = args.keep or tempfile.mkdtemp(prefix='bench-prepare-')
    try:
        records = read_mat(os.path.join(args.wider_root, 'wider_face_split', 'wider_face_train.mat'))
        kept, _ = build_annotations(records, os.path.join(args.wider_root, 'WIDER_train', 'images'))
        if args.images:
            kept = kept[:args.images]
        anno = os.path.join(work, 'anno.txt')
        write_annotations(kept, anno, os.path.join(work, 'train.txt'))
        results = {}
        for name, fmt, workers in (('packed', 'packed', args.workers), ('baseline', 'jpg', 1)):
            out = os.path.join(work, name)
            t0 = time.perf_counter()
            manifest = generate(anno, args.size, out, base_num=args.base_num, fmt=fmt, workers=workers, seed=0)
            dt = time.perf_counter() - t0
            crops = sum(manifest['counts'].values())
            results[name] = (crops, dt, count_files(os.path.join(out, str(args.size))))
            print('%-8s %s, %d worker(s): %d crops in %.2f s = %.0f crops/s, %d files'
                  % (name, fmt, workers, crops, dt, crops / dt, results[name][2]))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print('images: %d; main-process peak RSS %.0f MB' % (len(kept), peak))
        p, b = results['packed'], results['baseline']
        print('speed-up %.2fx' % ((p[0] / p[1]) / (b[0] / b[1])))
        print('packed_crops_per_s=%.1f baseline_crops_per_s=%.1f files=%d' % (p[0] / p[1], b[0] / b[1], p[2]))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

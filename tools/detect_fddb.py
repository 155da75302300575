"""Write FDDB detections (rectangle format) for the FDDB images, for users who have them.

    python tools/detect_fddb.py --image_dir FDDB/originalPics --folds FDDB-folds --out dets.txt \
        --prefix P,R,O --epoch 16,16,16 --thresh 0.6,0.15,0.05 --min_face 24
    python tools/eval_fddb.py --folds FDDB-folds --dets dets.txt --image_dir FDDB/originalPics

Images are read as ``<image_dir>/<name>.jpg`` in fold order; missing images are counted,
reported, and written with zero detections (so the evaluator sees every image).
"""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from core.common.fileio import atomic_write  # noqa: E402
from core.common.image import ImageError, read_image  # noqa: E402


def fold_images(folds_dir):
    names = []
    for path in sorted(glob.glob(os.path.join(folds_dir, 'FDDB-fold-[0-9][0-9].txt'))):
        with open(path) as f:
            names += [ln.strip() for ln in f if ln.strip()]
    return names


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--image_dir', required=True)
    ap.add_argument('--folds', required=True)
    ap.add_argument('--out', default='fddb_dets.txt')
    cli.add_detector_args(ap, point='accurate')
    args = ap.parse_args(argv)
    from tqdm import tqdm
    names = fold_images(args.folds)
    if not names:
        raise FileNotFoundError('%s: no FDDB-fold-XX.txt lists here' % args.folds)
    det = cli.detector_from_args(args, landmarks=False)
    missing = 0
    with atomic_write(args.out) as f:
        for name in tqdm(names, desc='fddb', unit='img'):
            boxes, scores = ([], [])
            try:
                boxes, scores, _ = det.detect(read_image(os.path.join(args.image_dir, name + '.jpg'), args.max_pixels))
            except ImageError:
                missing += 1
            f.write('%s\n%d\n' % (name, len(boxes)))
            for b, s in zip(boxes, scores):
                f.write('%.2f %.2f %.2f %.2f %.5f\n' % (b[0], b[1], b[2] - b[0], b[3] - b[1], s))
    if missing:
        print('warning: %d of %d images missing under %s (written with 0 detections)'
              % (missing, len(names), args.image_dir))
    print('wrote %s (%d images)' % (args.out, len(names)))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

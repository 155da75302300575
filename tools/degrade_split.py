"""A degraded copy of an evaluation split: how a detector holds up on poor pictures.

    python tools/degrade_split.py --anno runs/wider/anno_dev.txt --out runs/dev_degraded
    python tools/eval_wider.py --gt_anno runs/dev_degraded/anno.txt ...   # dev AP on the degraded copy

Each image of the ``anno.txt`` gets one degradation, drawn per image from ``--seed``: Gaussian blur
(sigma 1.5), Gaussian noise (sigma 12), dimmed to 45 % brightness, or half resolution scaled back up;
then it is saved as a JPEG of quality ``--quality`` (30). The boxes are unchanged (the images keep their
size). Output: ``<out>/<event>/<name>.jpg`` and ``<out>/anno.txt`` (the same faces, the new paths),
written atomically; a rerun gives the same bytes. Unreadable images are counted and left out.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from core.common.errors import InputError, SettingError  # noqa: E402

KINDS = ('blur', 'noise', 'dim', 'half')


def degrade(img, kind, rng):
    """``img`` (uint8 BGR) with one degradation applied."""
    import cv2
    x = img.astype(np.float32)
    if kind == 'blur':
        x = cv2.GaussianBlur(x, (0, 0), 1.5)
    elif kind == 'noise':
        x = x + rng.normal(0, 12, x.shape)
    elif kind == 'dim':
        x = x * 0.45
    elif kind == 'half':
        h, w = x.shape[:2]
        x = cv2.resize(cv2.resize(x, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA), (w, h),
                       interpolation=cv2.INTER_LINEAR)
    else:
        raise SettingError('unknown degradation %r (%s)' % (kind, ', '.join(KINDS)))
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def degrade_split(anno_path, out_dir, seed=0, quality=30, progress=True):
    """Write the degraded images and ``<out_dir>/anno.txt``; returns {kind: images, 'unreadable': n}."""
    import cv2
    from tqdm import tqdm
    from core.common.fileio import atomic_write
    from prepare_data.wider import read_anno, write_annotations
    anno = read_anno(anno_path)
    counts = dict.fromkeys(KINDS, 0)
    counts['unreadable'] = 0
    kept = []
    for k, (path, boxes) in enumerate(tqdm(anno, desc='degrade', unit='img', disable=not progress)):
        img = cv2.imread(path)
        if img is None:
            counts['unreadable'] += 1
            continue
        rng = np.random.default_rng([int(seed), k])
        kind = KINDS[int(rng.integers(len(KINDS)))]
        ok, buf = cv2.imencode('.jpg', degrade(img, kind, rng), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        parts = path.replace('\\', '/').split('/')
        rel = os.path.join(*(parts[-2:-1] + [os.path.splitext(parts[-1])[0] + '.jpg']))
        dst = os.path.abspath(os.path.join(out_dir, rel))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with atomic_write(dst, 'wb') as f:
            f.write(buf.tobytes())
        counts[kind] += 1
        kept.append((dst, boxes))
    if not kept:
        raise InputError('%s: none of the %d images could be read' % (anno_path, len(anno)))
    write_annotations(kept, os.path.join(out_dir, 'anno.txt'))
    return counts


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--anno', required=True, help='anno.txt of the split (e.g. a run\'s anno_dev.txt)')
    ap.add_argument('--out', required=True, help='output folder (images and anno.txt)')
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0)
    ap.add_argument('--quality', type=cli.number(int, low=0, high=100), default=30, help='JPEG quality of the saved images')
    args = ap.parse_args(argv)
    if not 1 <= args.quality <= 100:
        ap.error('--quality must be in 1..100')
    from prepare_data.wider import AnnotationError
    try:
        counts = degrade_split(args.anno, args.out, args.seed, args.quality)
    except (OSError, AnnotationError, ValueError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    print('%s: %s' % (os.path.join(args.out, 'anno.txt'), ' '.join('%s=%d' % kv for kv in counts.items())))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

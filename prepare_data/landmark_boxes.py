"""The detector's box of every face of a 5-point landmark list: training crops framed as the detector
frames the faces it hands to a landmark net (``train_L.py --recipe L_box``).

    python prepare_data/landmark_boxes.py --list data/landmarks5_clean/new_training.txt \\
        --out data/landmark_boxes/train.txt

Each image is upscaled ``--upscale`` times (the protocol of ``tools/eval_landmarks.py --detect``: the
CUHK crops are 80×80 with ~40 px faces), the cascade runs (default: the committed default models at
their accurate point), and the final box whose centre is nearest the centre of the labelled points is
kept, mapped back to the original image. A face with no box, or whose box does not contain its points'
centre, is left out and counted. Output: a ``celeba``-format list (``path x y w h`` then the 5 points as
x y pairs, the box's w = x2 − x1 + 1), paths relative to the output list's folder, written atomically,
and ``<out>.json`` with the counts and the detector used. Deterministic (no random step).

``--anno_out`` also writes the boxes as a WIDER-style ``anno.txt`` (``path x1 y1 x2 y2``, absolute
paths, the numbers of the list's lines): ``gen_data.py --anno`` cuts Onet positives and parts from
them (the images are too small for its negatives), extra faces for ``gen_imglist.py --extra``.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from config import data_dir  # noqa: E402
from core.common.errors import InputError  # noqa: E402


def detector_boxes(det, samples, upscale=2.0, progress=True):
    """N×5 boxes (x1, y1, x2, y2, score) in the original images, NaN where the face was missed."""
    from tqdm import tqdm
    from core.common.image import read_image
    from core.evaluation.landmark_eval import nearest_face, upscaled
    out = np.full((len(samples), 5), np.nan)
    for k, (path, gt) in enumerate(tqdm(samples, desc='boxes', unit='img', disable=not progress)):
        img = read_image(path, max_pixels=0)
        boxes = det.detect_face(upscaled(img, upscale))
        best = nearest_face(boxes, gt, upscale)
        if best is None:
            continue
        b = boxes[best, :5].astype(np.float64)
        b[:4] = (b[:4] + 0.5) / upscale - 0.5
        cx, cy = gt.mean(0)
        if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]:
            out[k] = b
    return out


def box_lines(samples, boxes, out_dir):
    """celeba-format lines of the faces with a box."""
    lines = []
    for (path, pts), b in zip(samples, boxes):
        if not np.isfinite(b[0]):
            continue
        name = os.path.relpath(os.path.abspath(path), out_dir).replace(os.sep, '/')
        nums = [b[0], b[1], b[2] - b[0] + 1, b[3] - b[1] + 1] + [float(v) for v in np.asarray(pts).reshape(-1)]
        lines.append(name + ' ' + ' '.join('%.2f' % v for v in nums))
    return lines


def anno_lines(lines, list_dir):
    """``path x1 y1 x2 y2`` lines of celeba-format box lines (paths relative to ``list_dir``), from
    their rounded numbers, so that the anno and the list describe the same boxes."""
    out = []
    for line in lines:
        name, rest = line.split(' ', 1)
        x, y, w, h = [float(v) for v in rest.split()[:4]]
        path = os.path.normpath(os.path.join(list_dir, name))
        out.append('%s %.2f %.2f %.2f %.2f' % (path, x, y, x + w - 1, y + h - 1))
    return out


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--list', required=True, help='5-point list (cuhk format: path x1..x5 y1..y5)')
    ap.add_argument('--image_root', default=None, help="image folder (default: the list's folder)")
    ap.add_argument('--out', default=data_dir('landmark_boxes', 'train.txt'), help='output list')
    ap.add_argument('--anno_out', default=None, help='also the boxes as a WIDER-style anno.txt (gen_data.py --anno)')
    ap.add_argument('--upscale', type=float, default=2.0, help='image upscale factor before detection')
    cli.add_detector_args(ap, committed_defaults=True, point='accurate')
    ap.set_defaults(backend='onnx', threads=1)  # a batch job over small images: ONNX Runtime, one thread
    args = ap.parse_args(argv)
    from core.evaluation.landmark_eval import read_points, skip_line, usable_samples
    from core.common.fileio import save_json, write_lines
    listed = read_points(args.list, 5, args.image_root)
    samples, skipped = usable_samples(listed)
    if skip_line(skipped, len(listed)):
        print('warning: ' + skip_line(skipped, len(listed)))
    from core.detect.cascade import build_cascade
    kw = dict(cli.resolve_detector_args(args), lnet=None, lnet106=None)  # boxes only
    det = build_cascade(**kw)
    boxes = detector_boxes(det, samples, args.upscale)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    lines = box_lines(samples, boxes, os.path.dirname(out))
    if not lines:
        raise InputError('%s: the detector found none of the %d faces' % (args.list, len(samples)))
    write_lines(out, lines)
    if args.anno_out:
        anno = os.path.abspath(args.anno_out)
        os.makedirs(os.path.dirname(anno), exist_ok=True)
        write_lines(anno, anno_lines(lines, os.path.dirname(out)))
    report = dict(list=os.path.abspath(args.list), faces=len(samples), skipped=len(skipped), kept=len(lines),
                  missed=len(samples) - len(lines), upscale=args.upscale,
                  detector=dict(prefix=[os.path.basename(p) for p in kw['prefixes']], epoch=list(kw['epochs']),
                                thresh=list(det.thresh), min_face=det.min_face, onet_flip=det.onet_flip,
                                onet_passes=det.onet_passes))
    save_json(out + '.json', report)
    print('%s: %d of %d faces with a detector box (%d missed)' % (out, len(lines), len(samples), report['missed']))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

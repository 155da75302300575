"""What a cascade gets wrong on a dev split: contact sheets of its top-scoring false boxes and of the
faces it misses, and where along the cascade the faces are lost.

    python tools/inspect_false_positives.py --gt_anno runs/wider/anno_dev.txt --out runs/false_positives
    python tools/inspect_false_positives.py --gt_anno runs/wider/anno_dev.txt --point accurate

The cascade is the default models at ``--point`` (default: the ``default`` point, the one pictures
and deployments use) or any ``--prefix``/``--epoch``/``--thresh``. Matching follows the WIDER FACE
protocol at IoU 0.5: a final box is false when it overlaps no annotated face (smaller faces than
``--min_face`` included, which are don't-care) by 0.5; a face of at least ``--min_face`` is missed when
no final box overlaps it by 0.5.

Writes ``<out>/false_positives.png`` (the ``--top`` highest-scoring false boxes, each with a quarter of
its size as context, annotated faces in green), ``<out>/missed.png`` (the largest missed faces in green
with the nearest final box in red) and ``<out>/false_positives.tsv`` (every false box: image, box,
score, its best IoU). Prints, for faces under 40 px and of 40 px and more, the share still found after
the Pnet, the Rnet and the Onet (the best IoU of any of the stage's calibrated boxes ≥ 0.5, and ≥ 0.3),
and how many missed faces have a final box at IoU 0.3–0.5 (placed badly rather than rejected).
"""
import itertools
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from core.common.boxes import iou_matrix  # noqa: E402
from core.common.fileio import write_lines  # noqa: E402
from core.common.image import ImageError, contact_sheet, read_image, write_image  # noqa: E402
from core.detect.detector import Trace  # noqa: E402

STAGES = ('pnet', 'rnet', 'onet')
BINS = (('<40', 0, 40), ('>=40', 40, float('inf')))
MATCH, NEAR = 0.5, 0.3
EMPTY = np.zeros((0, 5))


def larger_side(boxes):
    """The larger side of each box (N×4+), the size a face is counted by."""
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) if len(boxes) else np.zeros(0)


def best_iou(gt, boxes):
    """For each face of ``gt`` (N×4) the best IoU of any box, and that box's index (-1: no box)."""
    if not len(gt) or not len(boxes):
        return np.zeros(len(gt)), np.full(len(gt), -1)
    m = iou_matrix(gt[:, :4], boxes[:, :4])
    return m.max(1), m.argmax(1)


def false_boxes(gt_all, final):
    """Indices of the final boxes overlapping no face of ``gt_all`` (don't-care faces included) by
    MATCH, with their best IoU."""
    if not len(final):
        return np.zeros(0, int), np.zeros(0)
    best = iou_matrix(final[:, :4], gt_all[:, :4]).max(1) if len(gt_all) else np.zeros(len(final))
    idx = np.where(best < MATCH)[0]
    return idx, best[idx]


class Tally:
    """Per-size-bin counts of faces found after each stage."""

    def __init__(self):
        self.faces = {b[0]: 0 for b in BINS}
        self.found = {(s, b[0], t): 0 for s in STAGES for b in BINS for t in (MATCH, NEAR)}
        self.missed = {b[0]: 0 for b in BINS}
        self.placed_badly = {b[0]: 0 for b in BINS}

    def add(self, counted, stages):
        side = larger_side(counted)
        best = {s: best_iou(counted, stages.get(s, EMPTY))[0] for s in STAGES}
        for name, lo, hi in BINS:
            sel = (side >= lo) & (side < hi)
            self.faces[name] += int(np.sum(sel))
            for s in STAGES:
                for t in (MATCH, NEAR):
                    self.found[(s, name, t)] += int(np.sum(best[s][sel] >= t))
            fin = best['onet'][sel]
            self.missed[name] += int(np.sum(fin < MATCH))
            self.placed_badly[name] += int(np.sum((fin >= NEAR) & (fin < MATCH)))

    def lines(self):
        out = ['faces      ' + ''.join('%12s' % s for s in STAGES) + '   missed  IoU 0.3-0.5']
        for name, _, _ in BINS:
            n = self.faces[name]
            if not n:
                continue
            cells = ''.join('  %4.1f / %4.1f' % tuple(100.0 * self.found[(s, name, t)] / n for t in (MATCH, NEAR))
                            for s in STAGES)
            out.append('%-4s %5d %s   %6d  %6d' % (name, n, cells, self.missed[name], self.placed_badly[name]))
        out.append('(%% of faces with a box at IoU >= %.1f / >= %.1f after each stage)' % (MATCH, NEAR))
        return out


def tile(img, box, size, marks=(), text=None, context=0.25):
    """A ``size``-px square tile centred on ``box`` with ``context`` of its size on each side, the
    ``marks`` (``(box, BGR colour)``) drawn on it and ``text`` at the top."""
    x1, y1, x2, y2 = [float(v) for v in box[:4]]
    side = max(x2 - x1, y2 - y1) * (1 + 2 * context)
    ox, oy = (x1 + x2) / 2 - side / 2, (y1 + y2) / 2 - side / 2
    scale = size / max(side, 1.0)
    m = np.float32([[scale, 0, -ox * scale], [0, scale, -oy * scale]])
    out = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    for b, color in marks:
        p1 = (int(round((b[0] - ox) * scale)), int(round((b[1] - oy) * scale)))
        p2 = (int(round((b[2] - ox) * scale)), int(round((b[3] - oy) * scale)))
        cv2.rectangle(out, p1, p2, color, 1)
    if text:
        cv2.putText(out, text, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.putText(out, text, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def inspect(det, anno, max_pixels):
    """(tally, false boxes, missed faces, skipped images) of a cascade over the annotated images; false
    boxes as (score, image index, box, best IoU), missed faces as (side, image index, box, nearest final
    box or None, its IoU)."""
    from tqdm import tqdm
    tally, false, missed, skipped = Tally(), [], [], []
    for k, (path, gt) in enumerate(tqdm(anno, desc='inspect', unit='img')):
        try:
            img = read_image(path, max_pixels)
        except ImageError as exc:  # counted and reported, the other images still inspected
            skipped.append(str(exc))
            continue
        counted = gt[larger_side(gt) >= det.min_face]
        sides = larger_side(counted)
        trace = Trace()
        final = det.detect_face(img, trace=trace)
        tally.add(counted, trace.stage_boxes)
        idx, ious = false_boxes(gt, final)
        false += [(final[i, 4], k, final[i, :4].copy(), iou) for i, iou in zip(idx, ious)]
        best, which = best_iou(counted, final)
        for j in np.where(best < MATCH)[0]:
            near = final[which[j], :4].copy() if which[j] >= 0 else None
            missed.append((float(sides[j]), k, counted[j].copy(), near, float(best[j])))
    false.sort(key=lambda f: -f[0])
    missed.sort(key=lambda m: -m[0])
    return tally, false, missed, skipped


def _tiles_of(anno, items, draw, max_pixels):
    """``draw(img, item)`` for each item (its image index at item[1]), in the items' order; each image is
    decoded once and only one is held at a time."""
    out = [None] * len(items)
    by_image = sorted(range(len(items)), key=lambda i: items[i][1])
    for k, group in itertools.groupby(by_image, key=lambda i: items[i][1]):
        img = read_image(anno[k][0], max_pixels)
        for i in group:
            out[i] = draw(img, items[i])
    return out


def write_sheets(out, anno, false, missed, top, size, max_pixels):
    """The contact sheets of the top false boxes (highest score first) and missed faces (largest first);
    returns the number of tiles of each."""
    green, red = (0, 255, 0), (0, 0, 255)
    fp_tiles = _tiles_of(anno, false[:top], lambda img, f: tile(
        img, f[2], size, [(g, green) for g in anno[f[1]][1]] + [(f[2], red)], '%.3f' % f[0]), max_pixels)
    miss_tiles = _tiles_of(anno, missed[:top], lambda img, m: tile(
        img, m[2], size, [(m[2], green)] + ([(m[3], red)] if m[3] is not None else []), 'IoU %.3f' % m[4],
        context=0.5), max_pixels)
    for name, tiles in (('false_positives.png', fp_tiles), ('missed.png', miss_tiles)):
        grid = contact_sheet(tiles)
        path = os.path.join(out, name)
        if grid is not None:
            write_image(path, grid)
        elif os.path.exists(path):
            os.remove(path)  # nothing of that kind this time: no stale sheet from an earlier run
    return len(fp_tiles), len(miss_tiles)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--gt_anno', required=True, help='anno.txt of the dev split (never the evaluation set)')
    ap.add_argument('--out', default=os.path.join('runs', 'false_positives'))
    ap.add_argument('--top', type=cli.positive_int('--top'), default=40, help='tiles in each contact sheet')
    ap.add_argument('--tile', type=cli.number(int, low=32), default=128, help='tile size in pixels (at least 32)')
    ap.add_argument('--limit', type=cli.positive_int('--limit', zero=True), default=0,
                    help='only the first N images (0: all)')
    cli.add_detector_args(ap, committed_defaults=True, point='default')
    args = ap.parse_args(argv)
    from prepare_data.wider import read_anno
    anno = read_anno(args.gt_anno)
    if args.limit:
        anno = anno[:args.limit]
    det = cli.detector_from_args(args, landmarks=False)
    if det.onet is None:
        raise cli.SettingError('--prefix: the inspection needs a whole cascade, Pnet, Rnet and Onet')
    tally, false, missed, skipped = inspect(det, anno, args.max_pixels)
    os.makedirs(args.out, exist_ok=True)
    write_lines(os.path.join(args.out, 'false_positives.tsv'),
                ['image\tx1\ty1\tx2\ty2\tscore\tbest_iou'] +
                ['%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.4f\t%.3f' % ((anno[k][0],) + tuple(b) + (s, iou))
                 for s, k, b, iou in false])
    n_fp, n_miss = write_sheets(args.out, anno, false, missed, args.top, args.tile, args.max_pixels)
    if skipped:
        more = '; ...' if len(skipped) > 3 else ''
        print('warning: %d images skipped (%s%s)' % (len(skipped), '; '.join(skipped[:3]), more))
    print('images %d, faces >= %g px %d, final boxes at threshold %s: %d false, %d faces missed'
          % (len(anno) - len(skipped), det.min_face, sum(tally.faces.values()), ','.join('%g' % t for t in det.thresh),
             len(false), len(missed)))
    for line in tally.lines():
        print(line)
    print('sheets: %s (%d), %s (%d); list: %s' % (
        os.path.join(args.out, 'false_positives.png'), n_fp, os.path.join(args.out, 'missed.png'),
        n_miss, os.path.join(args.out, 'false_positives.tsv')))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))

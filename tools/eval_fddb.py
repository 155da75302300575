"""FDDB evaluation in pure Python (no Windows binaries, Perl or gnuplot), official semantics.

    python tools/eval_fddb.py --folds FDDB-folds --dets detections.txt --out runs/fddb

As the official ``evaluate``: for every unique score of an image, detections ≥ that score are
matched to the annotated ellipses by maximum-weight bipartite matching on region IoU (ellipses
and rectangles rasterised as filled pixel regions, OpenCV drawing rules); a match counts for the
discrete ROC when IoU > 0.5, its IoU adds to the continuous ROC; every other detection is a false
positive. Per-image results are merged over all thresholds. Writes ``DiscROC.txt`` (TPR FP
threshold) and ``ContROC.txt`` (TPR FP), a ROC plot, and ends with
``tpr@100=.. tpr@500=.. tpr@1000=.. tpr@2000=..`` (discrete).

Image sizes: the official tool rasterises on each image's own grid, so regions are clipped at
the image border. FDDB images are not needed here: give ``--image_sizes`` (lines
``name width height``) or ``--image_dir`` to clip exactly; otherwise regions are rasterised
clipped only at the top and left borders (always at 0) and unbounded to the right and bottom,
which the output states. On the original's reference detections this gives TPR within 0.005 of
the official tool at 100 and 500 false positives.
"""
import argparse
import glob
import math
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FP_POINTS = (100, 500, 1000, 2000)


def _lines(path):
    with open(path) as f:
        return [ln.strip() for ln in f]


def read_ellipses(folds_dir):
    """[(name, E×5 array: major, minor, angle, cx, cy)] in fold order (folds 01–10)."""
    files = sorted(glob.glob(os.path.join(folds_dir, 'FDDB-fold-*-ellipseList.txt')))
    if not files:
        raise FileNotFoundError('no FDDB-fold-XX-ellipseList.txt in %s' % folds_dir)
    out = []
    for path in files:
        lines, i = _lines(path), 0
        while i < len(lines):
            if not lines[i]:
                i += 1
                continue
            name = lines[i]
            try:
                n = int(lines[i + 1])
                rows = [[float(v) for v in lines[i + 2 + k].split()[:5]] for k in range(n)]
            except (IndexError, ValueError):
                raise ValueError('%s:%d: malformed ellipse record for %s' % (path, i + 1, name))
            out.append((name, np.asarray(rows, float).reshape(-1, 5)))
            i += 2 + n
    return out


def read_detections(path):
    """{name: D×5 (left, top, width, height, score)} from an FDDB rectangle-format file."""
    lines, i, out = _lines(path), 0, {}
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        name = lines[i]
        try:
            n = int(float(lines[i + 1]))
        except (IndexError, ValueError):
            raise ValueError('%s:%d: expected a detection count after %s' % (path, i + 2, name))
        rows = []
        for k in range(n):
            ln = i + 2 + k
            parts = lines[ln].split() if ln < len(lines) else []
            if len(parts) < 5:
                raise ValueError('%s:%d: expected "left top width height score"' % (path, ln + 1))
            rows.append([float(v) for v in parts[:5]])
        out[name] = np.asarray(rows, float).reshape(-1, 5)
        i += 2 + n
    return out


def _draw_ellipse(mask, e, off):
    major, minor, angle, cx, cy = e
    center = (int(round(cx)) - off[0], int(round(cy)) - off[1])
    cv2.ellipse(mask, center, (int(major), int(minor)), angle * 180.0 / math.pi, 0, 360, 1, -1)


def _draw_rect(mask, r, off):
    x, y, w, h = r[:4]
    p1 = (int(round(x)) - off[0], int(round(y)) - off[1])
    p2 = (int(round(x + w)) - off[0], int(round(y + h)) - off[1])
    cv2.rectangle(mask, p1, p2, 1, -1)


def _bounds_e(e):
    r = max(e[0], e[1]) + 2
    return e[3] - r, e[4] - r, e[3] + r, e[4] + r


def region_iou(ellipse, rect, size=None):
    """Pixel IoU of a filled ellipse and a filled rectangle, optionally clipped to an image."""
    ex1, ey1, ex2, ey2 = _bounds_e(ellipse)
    rx1, ry1, rx2, ry2 = rect[0] - 1, rect[1] - 1, rect[0] + rect[2] + 1, rect[1] + rect[3] + 1
    if rx1 > ex2 or ex1 > rx2 or ry1 > ey2 or ey1 > ry2:
        return 0.0
    x0, y0 = int(math.floor(min(ex1, rx1))), int(math.floor(min(ey1, ry1)))
    x1, y1 = int(math.ceil(max(ex2, rx2))) + 1, int(math.ceil(max(ey2, ry2))) + 1
    x0, y0 = max(x0, 0), max(y0, 0)  # the top and left image borders are always at 0
    if size is not None:
        x1, y1 = min(x1, size[0]), min(y1, size[1])
        if x1 <= x0 or y1 <= y0:
            return 0.0
    a = np.zeros((y1 - y0, x1 - x0), np.uint8)
    b = np.zeros_like(a)
    _draw_ellipse(a, ellipse, (x0, y0))
    _draw_rect(b, rect, (x0, y0))
    inter = np.count_nonzero(a & b)
    union = np.count_nonzero(a | b)
    return inter / float(union) if union else 0.0


def image_results(ellipses, dets, size=None):
    """Per unique score (ascending): (threshold, TP discrete, TP continuous, FP)."""
    from scipy.optimize import linear_sum_assignment
    if len(dets) == 0:
        return []
    iou = np.array([[region_iou(e, d, size) for d in dets] for e in ellipses]).reshape(len(ellipses), len(dets))
    out = []
    for t in np.unique(dets[:, 4]):
        valid = dets[:, 4] >= t
        sub = iou[:, valid]
        tp_d = tp_c = 0.0
        if sub.size and sub.any():
            rows, cols = linear_sum_assignment(sub, maximize=True)
            scores = sub[rows, cols]
            scores = scores[scores > 0]
            tp_c = float(scores.sum())
            tp_d = float((scores > 0.5).sum())
        out.append((float(t), tp_d, tp_c, float(valid.sum()) - tp_d))
    return out


def evaluate(ellipses, detections, sizes=None):
    """Merged ROC rows (threshold ascending): arrays thresholds, TP disc, TP cont, FP; and N."""
    per_image = []
    n_faces = 0
    for name, ell in ellipses:
        n_faces += len(ell)
        size = sizes.get(name) if sizes else None
        per_image.append(image_results(ell, detections.get(name, np.zeros((0, 5))), size))
    thresholds = np.unique(np.concatenate([[r[0] for r in res] for res in per_image if res] or [[]]))
    tp_d = np.zeros(len(thresholds) + 1)
    tp_c = np.zeros(len(thresholds) + 1)
    fp = np.zeros(len(thresholds) + 1)
    for res in per_image:
        lo = 0
        for t, d, c, f in res:  # contributes to thresholds in (previous own score, t]
            hi = int(np.searchsorted(thresholds, t, side='right'))
            tp_d[lo] += d
            tp_d[hi] -= d
            tp_c[lo] += c
            tp_c[hi] -= c
            fp[lo] += f
            fp[hi] -= f
            lo = hi
    return thresholds, np.cumsum(tp_d)[:-1], np.cumsum(tp_c)[:-1], np.cumsum(fp)[:-1], n_faces


def tpr_at(tpr, fp, budget):
    ok = fp <= budget
    return float(tpr[ok].max()) if ok.any() else 0.0


def read_sizes(args, names):
    if args.image_sizes:
        sizes = {}
        for k, ln in enumerate(_lines(args.image_sizes), 1):
            if ln:
                parts = ln.split()
                if len(parts) != 3:
                    raise ValueError('%s:%d: expected "name width height"' % (args.image_sizes, k))
                sizes[parts[0]] = (int(parts[1]), int(parts[2]))
        return sizes
    if args.image_dir:
        sizes = {}
        for name in names:
            img = cv2.imread(os.path.join(args.image_dir, name + '.jpg'))
            if img is not None:
                sizes[name] = (img.shape[1], img.shape[0])
        return sizes
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--folds', required=True, help='folder with FDDB-fold-XX-ellipseList.txt')
    ap.add_argument('--dets', required=True, help='detections, FDDB rectangle format, any image order')
    ap.add_argument('--out', default=os.path.join('runs', 'fddb'))
    ap.add_argument('--image_sizes', default=None, help='file of "name width height" lines')
    ap.add_argument('--image_dir', default=None, help='FDDB originalPics folder (sizes read from images)')
    args = ap.parse_args(argv)
    try:
        ellipses = read_ellipses(args.folds)
        dets = read_detections(args.dets)
        sizes = read_sizes(args, [n for n, _ in ellipses])
    except (OSError, ValueError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    unknown = set(dets) - {n for n, _ in ellipses}
    if unknown:
        print('warning: %d detected images are not in the folds (ignored), e.g. %s'
              % (len(unknown), sorted(unknown)[0]))
    thr, tp_d, tp_c, fp, n = evaluate(ellipses, dets, sizes)
    os.makedirs(args.out, exist_ok=True)
    disc, cont = tp_d / n, tp_c / n
    # official column order, thresholds ascending; images without detections add the
    # official last row at the largest double
    empty = any(len(dets.get(name, ())) == 0 for name, _ in ellipses)
    with open(os.path.join(args.out, 'DiscROC.txt'), 'w') as f:
        for i in range(len(thr)):
            f.write('%g %d %g\n' % (disc[i], fp[i], thr[i]))
        if empty:
            f.write('0 0 %g\n' % sys.float_info.max)
    with open(os.path.join(args.out, 'ContROC.txt'), 'w') as f:
        for i in range(len(thr)):
            f.write('%g %d\n' % (cont[i], fp[i]))
        if empty:
            f.write('0 0\n')
    from core.plot import line_plot
    line_plot([('discrete', fp, disc), ('continuous', fp, cont)], os.path.join(args.out, 'ROC.png'),
              title='FDDB ROC (%d faces)' % n, xlabel='false positives', ylabel='true positive rate',
              xlim=(0, max(2000, float(fp.max()) if len(fp) else 1)))
    mode = ('clipped to image sizes (%d known)' % len(sizes)) if sizes else \
        'clipped at x, y >= 0 only (no image sizes given: right/bottom borders unknown)'
    print('images: %d, faces: %d, detections: %d; regions %s' % (len(ellipses), n,
                                                                sum(len(v) for v in dets.values()), mode))
    print('wrote %s, %s, %s' % tuple(os.path.join(args.out, p) for p in ('DiscROC.txt', 'ContROC.txt', 'ROC.png')))
    print(' '.join('tpr@%d=%.4f' % (k, tpr_at(disc, fp, k)) for k in FP_POINTS))
    return 0


if __name__ == '__main__':
    sys.exit(main())

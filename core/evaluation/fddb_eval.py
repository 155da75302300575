"""FDDB evaluation with the official semantics, in pure Python (no Windows binaries, Perl or gnuplot).

As the official ``evaluate``: for every unique score of an image, detections ≥ that score are matched
to the annotated ellipses by maximum-weight bipartite matching on region IoU (ellipses and rectangles
rasterised as filled pixel regions, OpenCV drawing rules); a match counts for the discrete ROC when
IoU > 0.5, its IoU adds to the continuous ROC; every other detection is a false positive. Per-image
results are merged over all thresholds.

Regions are clipped to the image when its size is known; otherwise at the top and left borders only
(always at 0). Pixels are only rasterised inside an ellipse's bounding box: a rectangle's own pixel
count is computed arithmetically, so a huge box costs nothing.
"""
import glob
import math
import os

import cv2
import numpy as np

from core.common.fileio import FormatError, parse_floats, where

FP_POINTS = (100, 500, 1000, 2000)


def _lines(path):
    with open(path) as f:
        return [ln.strip() for ln in f]


def read_ellipses(folds_dir):
    """[(name, E×5 array: major, minor, angle, cx, cy)] in fold order (folds 01–10)."""
    files = sorted(glob.glob(os.path.join(folds_dir, 'FDDB-fold-*-ellipseList.txt')))
    if not files:
        raise FileNotFoundError('%s: no FDDB-fold-XX-ellipseList.txt here' % folds_dir)
    out = []
    for path in files:
        for name, rows in _records(path, 5, 'ellipse'):
            out.append((name, rows))
    return out


def _records(path, width, what):
    """(name, N×width values) records of an FDDB file: a name line, a count line, N value lines."""
    lines, i = _lines(path), 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        name = lines[i]
        try:
            n = int(float(lines[i + 1]))
        except (IndexError, ValueError):
            raise FormatError('%s: expected a count after %s' % (where(path, i + 2), name))
        if n < 0:
            raise FormatError('%s: negative count' % where(path, i + 2))
        rows = []
        for k in range(n):
            ln = i + 2 + k
            parts = lines[ln].split() if ln < len(lines) else []
            if len(parts) < width:
                raise FormatError('%s: expected %d numbers (%s)' % (where(path, ln + 1), width, what))
            rows.append(parse_floats(parts[:width], path, ln + 1, what + ' value'))
        yield name, np.asarray(rows, float).reshape(-1, width)
        i += 2 + n


def read_detections(path):
    """{name: D×5 (left, top, width, height, score)} from an FDDB rectangle-format file; non-finite
    values and negative sizes are errors naming file:line."""
    out = {}
    for name, rows in _records(path, 5, 'detection'):
        bad = np.where((rows[:, 2] < 0) | (rows[:, 3] < 0))[0]
        if len(bad):
            raise FormatError('%s: detection %d of %s has a negative width or height' % (path, bad[0] + 1, name))
        out[name] = np.concatenate([out[name], rows]) if name in out else rows
    return out


def _ellipse_window(e, size):
    """Pixel window [x0, x1) × [y0, y1) holding the ellipse, clipped to the image."""
    r = max(e[0], e[1]) + 2
    x0, y0 = max(int(math.floor(e[3] - r)), 0), max(int(math.floor(e[4] - r)), 0)
    x1, y1 = int(math.ceil(e[3] + r)) + 1, int(math.ceil(e[4] + r)) + 1
    if size is not None:
        x1, y1 = min(x1, size[0]), min(y1, size[1])
    return x0, y0, x1, y1


def _rect_pixels(rect, size):
    """Inclusive pixel bounds of a filled rectangle as OpenCV draws it, clipped to the image."""
    x1, y1 = int(round(rect[0])), int(round(rect[1]))
    x2, y2 = int(round(rect[0] + rect[2])), int(round(rect[1] + rect[3]))
    x1, y1 = max(x1, 0), max(y1, 0)
    if size is not None:
        x2, y2 = min(x2, size[0] - 1), min(y2, size[1] - 1)
    return x1, y1, x2, y2


def region_iou(ellipse, rect, size=None):
    """Pixel IoU of a filled ellipse and a filled rectangle, optionally clipped to an image of
    ``size`` (w, h)."""
    x0, y0, x1, y1 = _ellipse_window(ellipse, size)
    rx1, ry1, rx2, ry2 = _rect_pixels(rect, size)
    rect_area = max(rx2 - rx1 + 1, 0) * max(ry2 - ry1 + 1, 0)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    major, minor, angle, cx, cy = ellipse
    cv2.ellipse(mask, (int(round(cx)) - x0, int(round(cy)) - y0), (int(major), int(minor)),
                angle * 180.0 / math.pi, 0, 360, 1, -1)
    ellipse_area = int(np.count_nonzero(mask))
    ix1, iy1, ix2, iy2 = max(rx1, x0), max(ry1, y0), min(rx2, x1 - 1), min(ry2, y1 - 1)
    inter = int(np.count_nonzero(mask[iy1 - y0:iy2 - y0 + 1, ix1 - x0:ix2 - x0 + 1])) if ix2 >= ix1 and iy2 >= iy1 else 0
    union = ellipse_area + rect_area - inter
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



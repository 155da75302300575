"""Checks of landmark labels: lines whose points cannot be right, and lines far from all the others.

Per line, on the points in crop pixels and the crop's size (``cuhk``/``l106`` lists: the image is the
crop; ``celeba``: the face box is):

* ``outside``     — a point lies outside the crop;
* ``upside_down`` — 5 points: the eyes are not above the mouth;
* ``swapped``     — 5 points: the left eye (or mouth corner) is not left of the right one;
* ``collapsed``   — the points lie in one band: their spread in x or in y is under 0.3 of the other
  (a face's 5 points span about as much in y as in x), or under one pixel;
* ``off_centre``  — the points' centre, as a fraction of the crop, is more than ``z_limit`` robust
  standard deviations (1.4826 · median absolute deviation) *and* more than ``min_shift`` of the crop
  from the list's median (correct labels of turned heads sit up to ~0.1 off in x);
* ``scale``       — likewise for the points' size (eye distance for 5 points, extent for 106).

The two robust tests catch labels shifted as a block: in the CUHK training list all 2,350
``net_7876/_*`` lines have their eyes near the top edge of the crop (y ≈ 0.05), a third of the crop
above the eyes of the other 7,650 lines.

:func:`content_offset` looks for a shift too small for any line to show: where the image's dark
features (pupils, the mouth line) sit around each labelled point, averaged over many faces.
"""
import cv2
import numpy as np

CHECKS = ('outside', 'upside_down', 'swapped', 'collapsed', 'off_centre', 'scale')


def _robust_z(v):
    med = np.median(v)
    mad = 1.4826 * np.median(np.abs(v - med))
    return (v - med) / max(mad, 1e-6), v - med


def check_points(points, sizes, z_limit=4.0, min_shift=0.15):
    """``points`` N×P×2 (crop pixels), ``sizes`` N×2 (crop width, height) -> (flags, score): ``flags``
    maps each check of :data:`CHECKS` to an N-bool array; ``score`` is each line's largest robust z
    (centre or size), the order in which to look at them."""
    pts = np.asarray(points, np.float64)
    wh = np.asarray(sizes, np.float64).reshape(-1, 1, 2)
    rel = pts / wh
    n, p = pts.shape[:2]
    flags = {k: np.zeros(n, bool) for k in CHECKS}
    flags['outside'] = ((rel < 0) | (rel > 1)).any(axis=(1, 2))
    spread = rel.max(1) - rel.min(1)
    px = pts.max(1) - pts.min(1)
    flags['collapsed'] = (spread.min(1) < 0.3 * spread.max(1)) | (px.min(1) < 1)
    if p == 5:
        eyes_y, mouth_y = rel[:, :2, 1].mean(1), rel[:, 3:, 1].mean(1)
        flags['upside_down'] = eyes_y >= mouth_y
        flags['swapped'] = (rel[:, 0, 0] >= rel[:, 1, 0]) | (rel[:, 3, 0] >= rel[:, 4, 0])
        size = np.hypot(*(rel[:, 1] - rel[:, 0]).T)
    else:
        size = spread.max(1)
    (zx, dx), (zy, dy) = _robust_z(rel[:, :, 0].mean(1)), _robust_z(rel[:, :, 1].mean(1))
    zs, _ = _robust_z(np.log(np.maximum(size, 1e-6)))
    far = lambda z, d: (np.abs(z) > z_limit) & (np.abs(d) > min_shift)  # noqa: E731
    flags['off_centre'] = far(zx, dx) | far(zy, dy)
    flags['scale'] = np.abs(zs) > z_limit
    return flags, np.maximum(np.maximum(np.abs(zx), np.abs(zy)), np.abs(zs))


def outlier_mask(flags):
    """Lines that fail any check."""
    return np.any(np.stack(list(flags.values())), 0)


def report(groups, flags):
    """Rows (group, lines, count per check, flagged) per distinct value of ``groups`` and in all."""
    groups = np.asarray(groups)
    bad = outlier_mask(flags)
    rows = []
    for g in sorted(set(groups.tolist())) + [None]:
        m = np.ones(len(groups), bool) if g is None else groups == g
        rows.append(['all' if g is None else g, int(m.sum())] + [int(flags[k][m].sum()) for k in CHECKS]
                    + [int(bad[m].sum())])
    return rows


def content_offset(grays, points, radius=10, window=4):
    """Per point, the (dx, dy) in pixels from the label to the darkness-weighted centroid of the mean
    (2·radius+1)² patch around it, over all lines (``grays``: grey images; ``points``: N×P×2 in their
    pixels; centroid over the central (2·window+1)² of the mean patch). Labels of one convention give
    about the same offsets on any faces; two lists whose offsets differ by a constant have labels
    shifted against each other (1-based against 0-based pixels would read about one pixel). No model
    is involved."""
    side = 2 * radius + 1
    points = np.asarray(points, np.float64)
    acc = np.zeros((points.shape[1], side, side))
    count = 0
    for gray, pts in zip(grays, points):
        if gray is None:
            continue
        g = np.asarray(gray, np.float32)
        for k, (x, y) in enumerate(pts):
            acc[k] += cv2.getRectSubPix(g, (side, side), (float(x), float(y)))
        count += 1
    if count == 0:
        return np.full((points.shape[1], 2), np.nan)
    dy, dx = np.mgrid[-window:window + 1, -window:window + 1]
    out = []
    for patch in acc / count:
        c = patch[radius - window:radius + window + 1, radius - window:radius + window + 1]
        dark = c.max() - c
        total = max(dark.sum(), 1e-12)
        out.append(((dark * dx).sum() / total, (dark * dy).sum() / total))
    return np.array(out)

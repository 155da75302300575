"""Landmark conventions shared by data generation, iterators and the detector.

* 5 points: left eye, right eye, nose, left mouth corner, right mouth corner; stored as
  x1..x5, y1..y5.
* 106 points: the "migu" layout, stored interleaved x0, y0, x1, y1, …
* Crop-normalised value: ``(p − crop_origin + 0.5) / crop_side``.
"""
import os

import numpy as np

from core.common.fileio import FormatError, parse_floats, split_path
from core.common.errors import SettingError

# Horizontal flip: output point i takes the mirrored source point FLIP5[i] / FLIP106[i].
FLIP5 = np.array([1, 0, 2, 4, 3])


# Eyebrows (33–42, 64–71) and lips (84–103) of the 106-point layout: with the original's
# ``landmark106_migu_weighting`` their targets are doubled (4× loss weight) and predictions halved.
WEIGHTED_106 = np.r_[33:43, 64:72, 84:104]


def _flip106():
    p = np.arange(106)
    p[0:33] = np.arange(32, -1, -1)
    p[33:43] = np.arange(42, 32, -1)
    p[47:52] = np.arange(51, 46, -1)
    p[52:56] = [61, 60, 59, 58]
    p[56:58] = [63, 62]
    p[58:62] = [55, 54, 53, 52]
    p[62:64] = [57, 56]
    p[64:72] = np.arange(71, 63, -1)
    p[72:75] = [75, 76, 77]
    p[75:78] = [72, 73, 74]
    p[78:84] = [79, 78, 81, 80, 83, 82]
    p[84:91] = np.arange(90, 83, -1)
    p[91:96] = np.arange(95, 90, -1)
    p[96:101] = np.arange(100, 95, -1)
    p[101:104] = np.arange(103, 100, -1)
    p[104:106] = [105, 104]
    return p


FLIP106 = _flip106()
# The original's flip swapped only x for these points: it swapped y through NumPy views that alias each
# other, so their y kept the original point's value. ``legacy=True`` reproduces it.
LEGACY_Y_KEPT = np.r_[58:64, 75:78]


# 106-point orders: the original trains in the "migu" order (the flip permutation above assumes it);
# the JD (jingdong) 106-point annotations come in another order. Output point i (migu) is JD point
# JD_TO_MIGU[i] — the table of the original's convert_jidong_to_migu step.
JD_TO_MIGU = np.array(list(range(38)) + [42, 43, 44, 45, 46, 51, 52, 53, 54, 58, 59, 60, 61, 62, 66, 67, 69, 70, 71, 73,
                                         75, 76, 78, 79, 80, 82, 41, 40, 39, 38, 50, 49, 48, 47, 68, 72, 74, 77, 81, 83,
                                         55, 65, 56, 64, 57, 63] + list(range(84, 106)))
MIGU_TO_JD = np.argsort(JD_TO_MIGU)


def reorder_106(points, table):
    """P×2 (or N×P×2) 106-point sets re-indexed: output point i is input point ``table[i]``."""
    return np.asarray(points)[..., table, :]


def flip_points(points, width=1.0, legacy=False):
    """Mirror P×2 (or N×P×2) points horizontally (x -> width − x) and re-index left/right.

    ``width`` is 1.0 for crop-normalised points; for pixels use the image width with the
    +0.5 pixel-centre convention folded in by the caller. ``legacy`` reproduces the original's
    106-point bug (y of points 58–63 and 75–77 not swapped).
    """
    pts = np.asarray(points, np.float64)
    n = pts.shape[-2]
    perm = FLIP5 if n == 5 else FLIP106 if n == 106 else None
    if perm is None:
        raise ValueError('no flip permutation for %d points' % n)
    out = pts[..., perm, :]
    out[..., 0] = width - out[..., 0]
    if legacy and n == 106:
        out[..., LEGACY_Y_KEPT, 1] = pts[..., LEGACY_Y_KEPT, 1]
    return out


def to_vector(points):
    """P×2 (or N×P×2) points -> the label and net-output layout: 5 points as x1..x5, y1..y5, 106
    points interleaved x0, y0, x1, y1, … (the original's conventions)."""
    pts = np.asarray(points, np.float32)
    if pts.shape[-2] == 5:
        return np.concatenate([pts[..., 0], pts[..., 1]], -1)
    return pts.reshape(pts.shape[:-2] + (-1,))


def from_vector(vec, n_points=None):
    """Inverse of :func:`to_vector`: a vector (or N vectors) -> P×2 (N×P×2) points; 10 values are the
    5-point layout, anything else interleaved."""
    v = np.asarray(vec, np.float64)
    n_points = n_points or v.shape[-1] // 2
    if n_points == 5:
        return np.stack([v[..., :5], v[..., 5:10]], -1)
    return v.reshape(v.shape[:-1] + (n_points, 2))


def rotate(points, center, angle_deg):
    """Rotate P×2 points about ``center`` by ``angle_deg`` as ``cv2.getRotationMatrix2D`` does."""
    import cv2
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), float(angle_deg), 1.0)
    pts = np.asarray(points, np.float64)
    return pts @ m[:, :2].T + m[:, 2], m


def normalise(points, x0, y0, side):
    """Pixel points -> crop-normalised ``(p − origin + 0.5) / side``."""
    return (np.asarray(points, np.float64) - [x0, y0] + 0.5) / float(side)


FORMATS = ('celeba', 'cuhk', 'l106')


class ListError(FormatError):
    """A malformed landmark list (the message names file and line)."""


def shift_numbers(numbers, fmt, dx, dy):
    """The number fields of a ``cuhk`` or ``l106`` list line with every point moved by (dx, dy) pixels
    (fields after the points are kept as they are): the repair of a line whose labels are all offset."""
    if fmt not in ('cuhk', 'l106'):
        raise SettingError('shifting points is defined for the cuhk and l106 formats, not %r' % fmt)
    n = 10 if fmt == 'cuhk' else 212
    pts = from_vector(np.array([float(x) for x in numbers[:n]]), n // 2) + [dx, dy]
    moved = np.r_[pts[:, 0], pts[:, 1]] if fmt == 'cuhk' else pts.ravel()
    return ['%g' % round(float(x), 4) for x in moved] + list(numbers[n:])


def extent(points):
    """Larger side of the points' bounding box (the original's size filter)."""
    pts = np.asarray(points)
    return float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))


def read_landmark_list(path, fmt, image_root=None, min_size=0):
    """[(image path, box x,y,w,h or None, P×2 pixel points)] of a ``celeba``/``cuhk``/``l106`` list.

    Paths may contain spaces and are relative to ``image_root`` (default: the list's folder).
    ``min_size``: keep only faces whose landmark extent is at least this many pixels, as the
    original's L106_Net112/80 loaders do (80)."""
    if fmt not in FORMATS:
        raise ListError('unknown landmark list format %r (%s)' % (fmt, ', '.join(FORMATS)))
    if not os.path.isfile(path):
        raise FileNotFoundError('landmark list not found: %s' % path)
    root = image_root if image_root is not None else os.path.dirname(os.path.abspath(path))
    need = {'celeba': 14, 'cuhk': 10, 'l106': 212}[fmt]
    out, small = [], 0
    with open(path) as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            name, numbers = split_path(line)
            if len(numbers) < need:
                raise ListError('%s:%d: a %s line needs a path and %d numbers, got %d numbers'
                                % (path, k, fmt, need, len(numbers)))
            v = np.array(parse_floats(numbers[:need], path, k))
            img = os.path.join(root, name.replace('\\', '/'))
            if fmt == 'celeba':
                item = (img, v[:4], v[4:].reshape(5, 2))
            elif fmt == 'cuhk':
                item = (img, None, from_vector(v, 5))
            else:
                item = (img, None, v.reshape(106, 2))
            if min_size and extent(item[2]) < min_size:
                small += 1
                continue
            out.append(item)
    if not out:
        raise ListError('%s: no faces in the list%s' % (path, ' of at least %g px (%d smaller)' % (min_size, small)
                                                          if small else ''))
    return out


POSE_EDGES = (0.0, 0.08, 0.16, 0.28, float('inf'))


def yaw_proxy(points):
    """How far a face is turned, from its 5 points (left eye, right eye, nose, mouth corners): the
    nose's offset from the eyes' midpoint along the eye line, over the eye distance. On the CUHK
    list's ``net_7876/_*`` faces, whose file names carry the yaw, its median is 0.05 at 0°, 0.14 at 20°,
    0.24 at 40° and 0.35 at 60°; :data:`POSE_EDGES` fall between them."""
    le, re, nose = points[0], points[1], points[2]
    eye = re - le
    iod = float(np.hypot(*eye))
    if iod <= 0:
        return float('inf')
    mid = (le + re) / 2
    return abs(float(np.dot(nose - mid, eye)) / iod ** 2)


def pose_bins(points, edges=POSE_EDGES):
    """Pose bin (index into ``edges``' intervals) of each 5×2 point array."""
    return np.digitize([yaw_proxy(p) for p in points], edges[1:-1])

"""Box geometry of the MTCNN cascade, all with the "+1" pixel convention.

Boxes are float arrays N×(4+k): x1, y1, x2, y2[, score, ...]. Nothing here modifies its input.
"""
import os

import cv2
import numpy as np

from .image import MEAN, SCALE


def pyramid_scales(width, height, min_face, cell, factor):
    """Scales of the Pnet pyramid: from ``cell/min_face`` while min(resized side) > cell."""
    if min_face <= 0:
        raise ValueError('min_face must be positive, got %r' % (min_face,))
    scales, s = [], float(cell) / min_face
    while min(int(width * s), int(height * s)) > cell:
        scales.append(s)
        s *= factor
    return scales


def generate_bbox(prob, reg, scale, thresh, cell=20, stride=4):
    """Cells of a Pnet map with face probability > thresh, as boxes in image coordinates.

    ``prob``: h×w face probabilities; ``reg``: 4×h×w offsets. Returns N×9
    (x1, y1, x2, y2, score, dx1, dy1, dx2, dy2); a cell (r, c) maps to
    ``round(stride·c / scale)`` … ``round((stride·c + cell) / scale)``.
    """
    rows, cols = np.where(prob > thresh)
    if rows.size == 0:
        return np.zeros((0, 9), dtype=np.float64)
    x = stride * cols.astype(np.float64)
    y = stride * rows.astype(np.float64)
    out = np.empty((rows.size, 9), dtype=np.float64)
    out[:, 0] = np.round(x / scale)
    out[:, 1] = np.round(y / scale)
    out[:, 2] = np.round((x + cell) / scale)
    out[:, 3] = np.round((y + cell) / scale)
    out[:, 4] = prob[rows, cols]
    out[:, 5:9] = reg[:, rows, cols].T
    return out


def iou_matrix(a, b):
    """IoU of every box in ``a`` with every box in ``b`` (x1 y1 x2 y2, +1 pixel convention)."""
    return overlap_matrix(a, b, 'Union')


def overlap_matrix(a, b, mode='Union'):
    """Overlap of every box in ``a`` with every box in ``b`` (+1 pixel convention): IoU (``Union``) or
    intersection over the smaller area (``Minimum``)."""
    if mode not in ('Union', 'Minimum'):
        raise ValueError("nms mode must be 'Union' or 'Minimum', got %r" % (mode,))
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    if mode == 'Minimum':
        return inter / np.minimum(area_a[:, None], area_b[None, :])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


MATRIX_NMS_LIMIT = 500  # above this many boxes the pairwise matrix is too large: blocks of NMS_BLOCK boxes
NMS_BLOCK = 128
NATIVE_NMS_FROM = 32  # from this many boxes on, the compiled loop when there is one (below, numpy is as fast)


_NATIVE = {}


def native_nms():
    """The compiled greedy NMS (``csrc/nms.c``, built on first use, see :mod:`core.common.native`), or None
    without a compiler or with ``MTCNN_NATIVE=0``."""
    if 'fn' not in _NATIVE:
        fn = None
        if os.environ.get('MTCNN_NATIVE', '1') != '0':
            import ctypes
            from .native import compiled
            try:
                path = compiled(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'csrc', 'nms.c'),
                                ['-O2', '-ffp-contract=off', '-fno-fast-math'])
                fn = ctypes.CDLL(path).mtcnn_nms
                dp = ctypes.POINTER(ctypes.c_double)
                fn.argtypes = [dp, dp, dp, dp, ctypes.c_int64, ctypes.c_double, ctypes.c_int32,
                               ctypes.POINTER(ctypes.c_uint8), dp]
                fn.restype = None
            except OSError as exc:
                import logging
                logging.getLogger('mtcnn').debug('native NMS not available: %s', exc)
                fn = None
        _NATIVE['fn'] = fn
    return _NATIVE['fn']


def _suppressed_native(fn, b, thresh, mode):
    import ctypes
    cols = [np.ascontiguousarray(b[:, k], np.float64) for k in range(4)]
    out = np.zeros(len(b), np.uint8)
    dp = ctypes.POINTER(ctypes.c_double)
    area = np.empty(len(b), np.float64)
    fn(*[c.ctypes.data_as(dp) for c in cols], len(b), float(thresh), int(mode == 'Minimum'),
       out.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), area.ctypes.data_as(dp))
    return out.astype(bool)


def nms(boxes, thresh, mode='Union'):
    """Greedy NMS by descending score; returns kept indices.

    ``mode='Union'``: IoU; ``'Minimum'``: intersection over the smaller area. As in the original, a
    degenerate box (x2 <= x1 or y2 <= y1) is not kept but still suppresses others. Up to
    ``MATRIX_NMS_LIMIT`` boxes the pairwise overlaps are computed at once and the greedy pass only
    visits the boxes that overlap something; above it, blocks of ``NMS_BLOCK`` boxes are first
    suppressed by every box kept before them at once, then resolved among themselves the same way (the
    same result as the one-box-at-a-time loop, :func:`_greedy_nms`, bit for bit). From
    ``NATIVE_NMS_FROM`` float64 boxes on, the same loop compiled (:func:`native_nms`) when it builds."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    if mode not in ('Union', 'Minimum'):
        raise ValueError("nms mode must be 'Union' or 'Minimum', got %r" % (mode,))
    order = boxes[:, 4].argsort()[::-1]
    b = boxes[order]
    valid = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    fn = native_nms() if len(b) >= NATIVE_NMS_FROM and b.dtype == np.float64 else None
    if fn is not None:
        return order[valid & ~_suppressed_native(fn, b, thresh, mode)].astype(np.int64)
    block = len(b) if len(b) <= MATRIX_NMS_LIMIT else NMS_BLOCK
    survivors = np.zeros(len(b), bool)  # not suppressed: they suppress later boxes, degenerate or not
    with np.errstate(invalid='ignore', divide='ignore'):  # degenerate boxes: NaN overlaps suppress, as below
        for start in range(0, len(b), block):
            blk = b[start:start + block]
            suppressed = np.zeros(len(blk), bool)
            if start and survivors[:start].any():
                suppressed = (~(overlap_matrix(b[:start][survivors[:start]], blk, mode) <= thresh)).any(0)
            later = np.triu(~(overlap_matrix(blk, blk, mode) <= thresh), 1)  # box i suppresses later boxes
            for i in np.flatnonzero(later.any(1)):
                if not suppressed[i]:
                    suppressed |= later[i]
            survivors[start:start + len(blk)] = ~suppressed
    return order[valid & survivors].astype(np.int64)


def _greedy_nms(boxes, order, thresh, mode):
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    keep = []
    with np.errstate(invalid='ignore', divide='ignore'):
        while order.size > 0:
            i = order[0]
            if x2[i] > x1[i] and y2[i] > y1[i]:
                keep.append(i)
            rest = order[1:]
            w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
            h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
            inter = w * h
            ovr = inter / np.minimum(areas[i], areas[rest]) if mode == 'Minimum' else inter / (areas[i] + areas[rest] - inter)
            order = rest[ovr <= thresh]
    return np.asarray(keep, dtype=np.int64)


def calibrate(boxes, reg):
    """Apply regression offsets: x1 + dx1·w, …, with w = x2 − x1 + 1. Returns a new array."""
    out = np.array(boxes, dtype=np.float64, copy=True)
    w = out[:, 2] - out[:, 0] + 1
    h = out[:, 3] - out[:, 1] + 1
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def square(boxes):
    """Centred squares with side max(w, h) (+1 convention). Returns a new array."""
    out = np.array(boxes, dtype=np.float64, copy=True)
    w = out[:, 2] - out[:, 0] + 1
    h = out[:, 3] - out[:, 1] + 1
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side - 1
    out[:, 3] = out[:, 1] + side - 1
    return out


def clip(boxes, width, height):
    """Boxes clipped to the image [0, W−1]×[0, H−1] (new array)."""
    out = np.array(boxes, dtype=np.float64, copy=True)
    out[:, 0] = np.maximum(out[:, 0], 0)
    out[:, 1] = np.maximum(out[:, 1], 0)
    out[:, 2] = np.minimum(out[:, 2], width - 1)
    out[:, 3] = np.minimum(out[:, 3], height - 1)
    return out


def padded_patch(img, x1, y1, x2, y2):
    """The integer box [x1, x2] × [y1, y2] of ``img`` (a view when inside), zero-padded where it leaves it."""
    h, w = img.shape[:2]
    ix1, iy1, ix2, iy2 = max(x1, 0), max(y1, 0), min(x2, w - 1), min(y2, h - 1)
    if ix1 == x1 and iy1 == y1 and ix2 == x2 and iy2 == y2:
        return img[y1:y2 + 1, x1:x2 + 1]
    patch = np.zeros((y2 - y1 + 1, x2 - x1 + 1) + img.shape[2:], dtype=img.dtype)
    if ix2 >= ix1 and iy2 >= iy1:
        patch[iy1 - y1:iy2 - y1 + 1, ix1 - x1:ix2 - x1 + 1] = img[iy1:iy2 + 1, ix1:ix2 + 1]
    return patch


def crop_batch(img, boxes, size, check_geometry=True, interp=cv2.INTER_LINEAR, normalise=True):
    """Crops of integer boxes, zero-padded where they leave the image, resized (bilinear unless
    ``interp`` says otherwise) to ``size``×``size`` and normalised; (N×3×size×size float32, valid N).

    A box smaller than 2 pixels or entirely outside the image gives an all-zero tensor (uniform
    grey), as in the original. Crops are resized straight into one uint8 batch, converted once;
    ``normalise=False`` returns that batch (N×size×size×3 BGR, rejected crops grey 128: the pixels
    the normalised zeros stand for)."""
    h, w = img.shape[:2]
    n = len(boxes)
    batch = np.empty((n, size, size, 3), dtype=np.uint8)
    valid = np.zeros(n, dtype=bool)
    b = np.asarray(boxes[:, :4], dtype=np.int64) if n else np.zeros((0, 4), np.int64)
    for i in range(n):
        x1, y1, x2, y2 = (int(v) for v in b[i])
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        ix1, iy1, ix2, iy2 = max(x1, 0), max(y1, 0), min(x2, w - 1), min(y2, h - 1)
        if (check_geometry and (bw < 2 or bh < 2)) or ix2 < ix1 or iy2 < iy1 or bw < 1 or bh < 1:
            continue
        cv2.resize(padded_patch(img, x1, y1, x2, y2), (size, size), dst=batch[i], interpolation=interp)
        valid[i] = True
    if not normalise:
        batch[~valid] = 128
        return batch, valid
    out = np.empty((n, 3, size, size), np.float32)
    np.subtract(batch.transpose(0, 3, 1, 2), np.float32(MEAN), out=out, dtype=np.float32)
    out *= np.float32(SCALE)
    out[~valid] = 0.0  # rejected crops: all-zero normalised tensor (uniform grey)
    return out, valid

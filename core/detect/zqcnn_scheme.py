"""ZQCNN's MTCNN candidate flow in Python (``--scheme zqcnn``): what ``ZQ_CNN_MTCNN::Find`` does.

The original toolkit's users deploy with ZQCNN's C++ runtime, whose cascade is not the training
toolkit's (:class:`core.detect.detector.MtcnnDetector`). This detector reproduces ZQCNN's, so that a model
previewed in Python finds in C++ the boxes it found here:

- pyramid: scales ``cell/min_face · factor^k`` while the short side stays above the cell, plus a last
  level whose short side is exactly the cell; level sizes ``ceil(side·scale)``; the image is
  normalised first and every level resampled from it in float (centre-aligned bilinear);
- Pnet: its box regression is not used; per level, cells above the threshold are grouped in blocks of
  32×32 map cells (the first block of a row / column starts ``cell/stride`` cells early, as in ZQCNN),
  each block gets NMS 0.45 (Pnet20, stride 4; else 0.495) that also drops an inner box unless it
  suppressed at least ``overlap_count`` others; then NMS ``nms[0]`` across levels, and squaring;
- Rnet: crops of ``(x1, y1, x2 − x1, y2 − y1)`` (a rectangle outside the image repeats its edge pixels
  instead of padding black), boxes not wider than ``min_face/2`` dropped, NMS ``nms[1]`` by the smaller
  area *before* regression, then regression and squaring;
- Onet: regression (no squaring), then NMS ``nms[2]`` by the smaller area;
- integer boxes throughout (C ``round``, float32 arithmetic), IoU with the ``+1`` intersection and the
  ``(x2 − x1)·(y2 − y1)`` area, as ZQCNN computes them.

Defaults are ZQCNN's SampleMTCNN Pnet20 settings (NMS 0.4/0.5/0.5, overlap count 3).
"""
import cv2
import numpy as np

from core.common.errors import SettingError
from core.recipes.cascade_settings import DEFAULTS

from .detector import EMPTY, MtcnnDetector
from core.common.image import MEAN, SCALE
from core.landmarks.points import from_vector

F32 = np.float32
BLOCK = 32  # Pnet map cells per NMS block side
REMAP_MAX = 32767  # OpenCV's remap takes images and maps below this many rows and columns
STRIP_PIXELS = 8192  # output pixels resampled at a time (five float32 arrays of them: ~0.5 MB)
NORMALISED = (np.arange(256, dtype=F32) - F32(MEAN)) * F32(SCALE)  # byte -> ZQCNN's input value


def c_round(x):
    """C's ``round``: halves away from zero."""
    x = np.asarray(x, F32)
    return np.where(x >= 0, np.floor(x + F32(0.5)), np.ceil(x - F32(0.5)))


def pyramid_scales(width, height, min_face, cell=20, factor=DEFAULTS.factor):
    """ZQCNN's Pnet scales (float32), the last one mapping the short side onto the cell."""
    min_size = max(cell, int(min_face))
    factor = F32(max(0.5, min(0.97, factor)))
    minside = F32(min(width, height))
    m = F32(F32(cell) / F32(min_size))
    side, scales = minside * m, []
    while side > cell:
        scales.append(m)
        side = F32(side * factor)
        m = F32(m * factor)
    scales.append(F32(F32(cell) / minside))
    return scales


def _sample_axis(offset, length, out, limit):
    """Source indices (clamped) and weights of ZQCNN's centre-aligned bilinear sampling along one axis,
    for N rectangles at once (``offset``, ``length``: N) -> three N×out arrays. The coordinate is
    accumulated in float32 as ZQCNN does; on a 1,000-pixel side that drifts by ~1e-3 pixel from the
    exact position, enough to move a borderline score across a threshold, so it is copied."""
    offset, length = np.atleast_1d(offset), np.atleast_1d(length)
    step = F32(F32(1.0) / F32(out)) * length.astype(F32)
    steps = np.repeat(step[:, None], out, 1)
    steps[:, 0] = F32(0.5) * step - F32(0.5) + offset.astype(F32)
    coord = np.add.accumulate(steps, axis=1, dtype=F32)
    c0 = np.floor(coord)
    frac = (coord - c0).astype(F32)
    c0 = c0.astype(np.int64)
    return np.clip(c0, 0, limit - 1), np.clip(c0 + 1, 0, limit - 1), frac


def resize_rect(planes, x, y, w, h, out_w, out_h):
    """ZQCNN's ``ResizeBilinearRect`` of a C×H×W float32 image: the rectangle (x, y, w, h) resampled
    to C×out_h×out_w, edge pixels repeated outside the image."""
    return crop_batch(planes, np.array([[x, y, x + w, y + h]]), (out_w, out_h))[0]


def crop_batch(planes, boxes, size, hwc=None):
    """N×C×h×w crops of integer boxes (x1, y1, x2, y2) as ZQCNN's Rnet/Onet stages take them: the
    rectangle (x1, y1, x2 − x1, y2 − y1), edge pixels repeated outside the image; ``size``: side or (w, h).
    Per output pixel: two horizontal lerps ``a + (b − a)·sx`` and one vertical one, in float32, as ZQCNN.
    ``hwc``: the same image as H×W×C, whose corners OpenCV's remap gathers (bit-identical, ~3x faster)."""
    w_out, h_out = (size, size) if np.isscalar(size) else size
    b = np.asarray(boxes[:, :4], np.int64)
    H, W = planes.shape[1:]
    x0, x1, sx = _sample_axis(b[:, 0], b[:, 2] - b[:, 0], w_out, W)
    y0, y1, sy = _sample_axis(b[:, 1], b[:, 3] - b[:, 1], h_out, H)
    if hwc is not None and max(H, W) < REMAP_MAX:
        return _crop_remap(hwc, x0, x1, sx, y0, y1, sy)
    rows0, rows1 = y0[:, :, None], y1[:, :, None]
    cols0, cols1 = x0[:, None, :], x1[:, None, :]
    out = _bilinear(planes[:, rows0, cols0], planes[:, rows0, cols1], planes[:, rows1, cols0],
                    planes[:, rows1, cols1], sx[:, None, :], sy[:, :, None])
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3))


def _bilinear(v00, v01, v10, v11, fx, fy):
    """ZQCNN's arithmetic per output pixel, in place on the four float32 corner arrays: two horizontal
    lerps ``a + (b − a)·fx`` (rows y0 and y1), then the vertical one; returns ``v11``, the result."""
    v01 -= v00
    v01 *= fx
    v01 += v00
    v11 -= v10
    v11 *= fx
    v11 += v10
    v11 -= v01
    v11 *= fy
    v11 += v01
    return v11


def _index_map(xs, ys):
    """``cv2.remap``'s int16 map gathering columns ``xs`` (…×w) of rows ``ys`` (…×h): …×h×w×2."""
    m = np.empty(ys.shape + (xs.shape[-1], 2), np.int16)
    m[..., 0], m[..., 1] = xs[..., None, :], ys[..., :, None]
    return m


def _crop_remap(hwc, x0, x1, sx, y0, y1, sy):
    """:func:`crop_batch`'s arithmetic with the corners gathered by ``cv2.remap`` from an H×W×C image,
    the N crops stacked as one tall map (in chunks below OpenCV's 32767-row limit)."""
    n, h_out = y0.shape
    w_out = x0.shape[1]
    out = np.empty((n, hwc.shape[2], h_out, w_out), F32)
    step = max(1, (REMAP_MAX - 1) // h_out)
    for a in range(0, n, step):
        e = min(n, a + step)

        def gather(xs, ys):
            m = _index_map(xs[a:e], ys[a:e]).reshape(-1, w_out, 2)
            return cv2.remap(hwc, m, None, cv2.INTER_NEAREST).reshape(e - a, h_out, w_out, -1)
        v = _bilinear(gather(x0, y0), gather(x1, y0), gather(x0, y1), gather(x1, y1),
                      sx[a:e, None, :, None], sy[a:e, :, None, None])
        out[a:e] = v.transpose(0, 3, 1, 2)
    return out


def resize_image(hwc, out_w, out_h, work=None):
    """The whole H×W×C float32 image resampled as :func:`crop_batch` does -> C×out_h×out_w. The four
    corners come from exact integer gathers (OpenCV's nearest-neighbour remap), then the same three
    float32 lerps per pixel: bit-identical to the gathers, 5x faster. ``work``: a dict that keeps the
    maps, weights and buffers of each output size between calls (the result is then one of those
    buffers, overwritten by the next call of that size). The work goes in strips of rows that fit
    in a core's cache: a level's passes over whole arrays ran at memory speed, ~2x slower."""
    H, W, C = hwc.shape
    work = {} if work is None else work
    key = (out_w, out_h)
    if key not in work:
        x0, x1, sx = (a[0] for a in _sample_axis(0, W, out_w, W))
        y0, y1, sy = (a[0] for a in _sample_axis(0, H, out_h, H))
        work[key] = dict(maps=[_index_map(x, y) for y in (y0, y1) for x in (x0, x1)],
                         sx=np.repeat(sx[None, :, None], C, 2), sy=sy[:, None, None],
                         corners=[np.empty((min(out_h, max(1, STRIP_PIXELS // out_w)), out_w, C), F32)
                                  for _ in range(4)],
                         out=np.empty((C, out_h, out_w), F32))
    k = work[key]
    rows = max(1, STRIP_PIXELS // out_w)
    for r0 in range(0, out_h, rows):  # strips of rows: the five arrays stay in the core's cache
        r1 = min(out_h, r0 + rows)
        corners = [v[:r1 - r0] for v in k['corners']]
        for m, v in zip(k['maps'], corners):
            cv2.remap(hwc, m[r0:r1], None, cv2.INTER_NEAREST, dst=v)
        np.copyto(k['out'][:, r0:r1], _bilinear(*corners, k['sx'], k['sy'][r0:r1]).transpose(2, 0, 1))
    return k['out']


def _overlap(b, area, i, j, mode):
    """ZQCNN's overlap of boxes ``i`` with boxes ``j`` (index arrays, broadcast), in float32."""
    iw = np.maximum(np.minimum(b[i, 2], b[j, 2]) - np.maximum(b[i, 0], b[j, 0]) + F32(1), F32(0))
    ih = np.maximum(np.minimum(b[i, 3], b[j, 3]) - np.maximum(b[i, 1], b[j, 1]) + F32(1), F32(0))
    inter = iw * ih
    if mode == 'Union':
        return inter / (area[i] + area[j] - inter)
    return inter / np.minimum(area[i], area[j])


def zq_nms(boxes, area, scores, thresh, mode='Union', overlap_count=0, check=None, matrix_max=1024, groups=None):
    """Indices (in input order) that ZQCNN's ``_nms`` keeps: greedy by score, a box suppresses every
    live box it overlaps by more than ``thresh`` (``Union``: IoU, else over the smaller area).
    ``boxes``: N×4 integer x1 y1 x2 y2; ``area``: ZQCNN's stored areas; ``check``: boxes that must
    have suppressed ``overlap_count`` others to stay (the others always stay); ``groups``: independent
    NMS runs at once (a box only suppresses boxes of its group; ties go to the earlier index, as
    within one run). Up to ``matrix_max`` boxes the overlaps are one matrix and the greedy loop runs
    on Python integers as bit sets; beyond that, one numpy row per kept box."""
    n = len(boxes)
    if n == 0 or thresh >= 1.0:
        return np.arange(n)
    b = np.asarray(boxes, F32)
    area = np.asarray(area, F32)
    every = np.arange(n)
    order = np.argsort(-np.asarray(scores, F32), kind='stable').tolist()
    must = [False] * n if check is None else np.asarray(check, bool).tolist()
    keep = np.zeros(n, bool)
    if n <= matrix_max:
        over = _overlap(b, area, every[:, None], every[None, :], mode) > thresh
        if groups is not None:
            over &= groups[:, None] == groups[None, :]
        rows = [int.from_bytes(r.tobytes(), 'little') for r in np.packbits(over, axis=1, bitorder='little')]
        alive = (1 << n) - 1
        for i in order:
            if not alive >> i & 1:
                continue
            alive ^= 1 << i
            gone = rows[i] & alive
            alive ^= gone
            keep[i] = not must[i] or bin(gone).count('1') >= overlap_count
        return np.flatnonzero(keep)
    alive = np.ones(n, bool)
    for i in order:
        if not alive[i]:
            continue
        alive[i] = False
        gone = (_overlap(b, area, i, every, mode) > thresh) & alive
        if groups is not None:
            gone &= groups == groups[i]
        alive &= ~gone
        keep[i] = not must[i] or np.count_nonzero(gone) >= overlap_count
    return np.flatnonzero(keep)


def refine(boxes, reg, square):
    """ZQCNN's ``_refine_and_square_bbox``: regression (``reg`` N×4 dx1 dy1 dx2 dy2 of the +1 side), then
    optionally squaring; integer boxes."""
    b = np.asarray(boxes[:, :4], F32)
    reg = np.asarray(reg, F32)
    bw, bh = b[:, 2] - b[:, 0] + F32(1), b[:, 3] - b[:, 1] + F32(1)
    x1, y1 = b[:, 0] + reg[:, 0] * bw, b[:, 1] + reg[:, 1] * bh
    x2, y2 = b[:, 2] + reg[:, 2] * bw, b[:, 3] + reg[:, 3] * bh
    w, h = x2 - x1 + F32(1), y2 - y1 + F32(1)
    if square:
        side = np.maximum(h, w)
        y1 = y1 + h * F32(0.5) - side * F32(0.5)
        x1 = x1 + w * F32(0.5) - side * F32(0.5)
        w = h = side
    out = np.stack([c_round(x1), c_round(y1), c_round(x1 + w - F32(1)), c_round(y1 + h - F32(1))], 1)
    return out.astype(np.int64)


def _area(boxes):
    return ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).astype(F32)


def _blocks(rows, cols, border):
    """ZQCNN's NMS blocks of a rows×cols Pnet map: (row0, row1, col0, col1) each; the end test of the
    last block compares a row / column index with the block count, as ZQCNN does."""
    if cols <= BLOCK and rows < BLOCK:
        return [(0, rows, 0, cols)]
    nh, nw = max(1, rows // BLOCK), max(1, cols // BLOCK)
    per_h, per_w, last = rows // nh, cols // nw, nh * nw - 1
    return [(0 if bh == 0 else bh * per_h - border, rows if bh == last else (bh + 1) * per_h,
             0 if bw == 0 else bw * per_w - border, cols if bw == last else (bw + 1) * per_w)
            for bh in range(nh) for bw in range(nw)]


class ZqcnnDetector(MtcnnDetector):
    """:class:`core.detect.detector.MtcnnDetector` with ZQCNN's candidate flow (see the module docstring).
    ``nms``: the three stages' NMS thresholds; ``overlap_count``: ZQCNN's ``pnet_overlap_thresh_count``."""

    scheme = 'zqcnn'

    def __init__(self, pnet, rnet=None, onet=None, nms=(0.4, 0.5, 0.5), overlap_count=3, **kw):
        kw.pop('legacy_clip', None)
        kw.pop('interp', None)
        super().__init__(pnet, rnet, onet, **kw)
        if not self.settings.single_onet_pass:
            raise SettingError("the zqcnn scheme runs ZQCNN's own flow, which has no mirrored or repeated Onet "
                               'passes (onet_flip / onet_passes)')
        if self.settings.lnet_flip:
            raise SettingError("the zqcnn scheme runs ZQCNN's own flow, which has no mirrored landmark pass "
                               '(lnet_flip)')
        self.thresh = [max(0.1, t) for t in self.thresh]
        self.nms = [max(0.1, float(t)) for t in nms]
        self.overlap_count = max(0, int(overlap_count))
        self.min_size = max(self.cell, int(self.min_face))
        self.level_nms = 0.45 if (self.cell, self.stride) == (20, 4) else 0.495

    def detect_batch(self, imgs):
        """One image at a time: ZQCNN's flow runs each image's stages on their own."""
        return [self.detect(img) for img in imgs]

    def _normalise(self, img):
        """The image as ZQCNN's float tensor, (BGR − 127.5) · 0.0078125: H×W×C (this thread's ``hwc``, what the
        pyramid is resampled from) and C×H×W (``planes``, the first level and the crops). A
        256-entry table of the float32 results maps the bytes: bit-identical, one pass each."""
        if getattr(self._local, 'work', {}).get('image') != img.shape:  # this thread's buffers, one image size
            self._local.work = {'image': img.shape}
            self._local.hwc = np.empty(img.shape, F32)
            self._local.planes = np.empty((3,) + img.shape[:2], F32)
        if img.dtype != np.uint8:  # a float image: the arithmetic itself
            np.subtract(img, F32(MEAN), out=self._local.hwc, dtype=F32)
            self._local.hwc *= F32(SCALE)
            self._local.planes[:] = self._local.hwc.transpose(2, 0, 1)
            return self._local.planes
        img = np.ascontiguousarray(img)
        cv2.LUT(img, NORMALISED, dst=self._local.hwc)
        for c, plane in enumerate(cv2.split(img)):
            cv2.LUT(plane, NORMALISED, dst=self._local.planes[c])
        return self._local.planes

    def _level(self, lw, lh):
        """A pyramid level, resampled from the normalised image exactly as ZQCNN does (OpenCV's resize
        samples at the exact positions, ZQCNN at float32-accumulated ones: that moved boxes)."""
        return resize_image(self._local.hwc, lw, lh, self._local.work)

    def _level_boxes(self, prob, scale_xy):
        """Pnet cells of one level after ZQCNN's block NMS, as integer image boxes. The blocks overlap
        (a cell may be in two or four); every block's NMS runs at once as groups of one NMS."""
        rows, cols = prob.shape
        border = self.cell // self.stride
        r, c = np.nonzero(prob > self.thresh[0])  # row-major, as each block's own scan
        if r.size == 0:
            return None
        blocks = np.array(_blocks(rows, cols, border))
        member = (r >= blocks[:, :1]) & (r < blocks[:, 1:2]) & (c >= blocks[:, 2:3]) & (c < blocks[:, 3:])
        group, cell = np.nonzero(member)  # by block, then row-major within the block
        if cell.size == 0:
            return None
        rr, cc = r[cell], c[cell]
        scores = prob[rr, cc]
        boxes = np.stack([cc * self.stride, rr * self.stride, cc * self.stride + self.cell,
                          rr * self.stride + self.cell], 1)
        check = (rr >= border) & (rr < rows - border) & (cc >= border) & (cc < cols - border)
        keep = zq_nms(boxes, np.full(len(boxes), self.cell * self.cell, F32), scores, self.level_nms,
                      'Union', self.overlap_count, check, groups=group)
        cand = np.column_stack([boxes[keep], scores[keep]])
        sx, sy = scale_xy
        cand[:, [0, 2]] = c_round(cand[:, [0, 2]].astype(F32) * sx)
        cand[:, [1, 3]] = c_round(cand[:, [1, 3]].astype(F32) * sy)
        return cand

    def detect_pnet(self, img):
        """(boxes before squaring, squared boxes), N×5 each (x1 y1 x2 y2 score, integer coordinates)."""
        planes = self._normalise(img)
        h, w = img.shape[:2]
        found = []
        for s in pyramid_scales(w, h, self.min_face, self.cell, self.factor):
            lw, lh = int(np.ceil(F32(w) * s)), int(np.ceil(F32(h) * s))
            if lw < self.cell or lh < self.cell:
                continue
            level = planes if s == 1 else self._level(lw, lh)
            prob = self.pnet(level[None])[0][0, 1]
            mh, mw = (lh - self.cell) // self.stride + 1, (lw - self.cell) // self.stride + 1
            cand = self._level_boxes(prob[:mh, :mw], (F32(w) / F32(lw), F32(h) / F32(lh)))
            if cand is not None:
                found.append(cand)
        if not found:
            return EMPTY, EMPTY
        cand = np.vstack(found)
        boxes = cand[:, :4].astype(np.int64)
        keep = zq_nms(boxes, _area(boxes), cand[:, 4], self.nms[0], 'Union')
        raw = cand[keep]
        sq = refine(raw[:, :4], np.zeros((len(raw), 4), F32), square=True)
        return raw.astype(np.float64), np.column_stack([sq, raw[:, 4]]).astype(np.float64)

    def _stage(self, img, dets, model, thresh, last):
        planes = self._local.planes
        b = dets[:, :4].astype(np.int64)
        rw, rh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        ok = (rw > 0.5 * self.min_size) & (rh > 0.5 * self.min_size)
        b, rw, rh = b[ok], rw[ok], rh[ok]
        if len(b) == 0:
            return EMPTY, EMPTY, None
        crops = crop_batch(planes, b, model.info['size'], self._local.hwc)
        outs = self._run_batched(model, crops, self.chunk['onet' if last else 'rnet'])
        prob = outs[0][:, 1]
        keep = np.flatnonzero(prob > thresh)
        if keep.size == 0:
            return EMPTY, EMPTY, None
        b, score, reg = b[keep], prob[keep], outs[1][keep]
        area = (rw[keep] * rh[keep]).astype(F32)
        raw = np.column_stack([b, score]).astype(np.float64)
        if not last:
            order = zq_nms(b, area, score, self.nms[1], 'Min')
            b, score, reg, raw = b[order], score[order], reg[order], raw[order]
            return raw, np.column_stack([refine(b, reg, True), score]).astype(np.float64), None
        fine = refine(b, reg, False)
        order = zq_nms(fine, _area(fine), score, self.nms[2], 'Min')
        points = None
        if len(outs) > 2:
            pts = from_vector(outs[2][keep][order])
            src = b[order].astype(F32)
            side = (src[:, 2:4] - src[:, 0:2])[:, None, :]
            points = src[:, None, 0:2] + side * pts
        return raw, np.column_stack([fine[order], score[order]]).astype(np.float64), points

    def detect_rnet(self, img, dets):
        return self._stage(img, dets, self.rnet, self.thresh[1], False)[:2]

    def detect_onet(self, img, dets):
        return self._stage(img, dets, self.onet, self.thresh[2], True)

    def landmarks(self, img, boxes, model, flip=False):
        """A landmark net on the final boxes, squared and cropped as ZQCNN's Lnet stage does."""
        if len(boxes) == 0:
            return np.zeros((0, model.info['n_points'], 2))
        self._normalise(img)
        b = refine(boxes[:, :4].astype(np.int64), np.zeros((len(boxes), 4), F32), square=True)
        crops = crop_batch(self._local.planes, b, model.info['size'], self._local.hwc)
        pts = from_vector(self._run_batched(model, crops, self.chunk['onet'])[0])
        src = b.astype(F32)
        return src[:, None, 0:2] + (src[:, 2:4] - src[:, 0:2])[:, None, :] * pts


# candidate flows by name (``--scheme``): the training toolkit's own (mining, evaluation of record) and
# ZQCNN's C++ runtime's; here, so that MXNet-free tools (tools/detect_onnx.py) share the one table
SCHEMES = {'original': MtcnnDetector, 'zqcnn': ZqcnnDetector}

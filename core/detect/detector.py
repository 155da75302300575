"""The MTCNN cascade: Pnet pyramid → Rnet → Onet [→ Lnet / Lnet106].

    det = core.detect.cascade.build_cascade(['model/pnet20', 'model/rnet', 'model/onet'], [16, 16, 16])
    boxes, scores, landmarks = det.detect(cv2.imread('4.jpg'))

The stages are any objects with the call interface of :class:`core.runtime.model_io.InferenceModel`
(MXNet, ONNX Runtime, OpenCV DNN) and an ``info`` dict (kind, size, Pnet cell and stride); this
module itself needs only numpy and OpenCV.

Differences from the original (README, "Differences"): Pnet cell and stride come from the
network (stride 2 for Pnet20_s2*), Rnet/Onet batches are sized to the work instead of padded
to 256/16, and boxes are not clipped in place by the crop step unless ``legacy_clip=True``.

Test-time options of the last stage (off by default; the default models' ``accurate`` point turns
them on): ``onet_flip`` scores every Onet crop and its mirror image and averages the two face
probabilities; ``onet_passes=2`` runs the Onet again on the boxes its regression gave (squared and
re-cropped), averages the passes' probabilities and keeps the last pass's box. The threshold gates the
first pass; the NMS runs on the final boxes. ``lnet_flip`` runs the 5-point Lnet on every face crop
and its mirror image and averages the two sets of points (the mirrored set mapped back, left and right
swapped).
"""
import threading
import time

import cv2
import numpy as np

from core.common import boxes as bx
from core.common.errors import SettingError
from core.common.image import to_tensor
from core.landmarks.points import flip_points, from_vector
from core.recipes.cascade_settings import DEFAULTS
from core.common.errors import InputError

EMPTY = np.zeros((0, 5), dtype=np.float64)


class MtcnnDetector:
    """Cascade over :class:`core.runtime.model_io.InferenceModel` stages (rnet/onet optional), run with
    ``settings`` (:class:`core.recipes.cascade_settings.CascadeSettings`; keyword arguments named like its
    fields replace single settings: ``MtcnnDetector(p, r, o, thresh=(0.6, 0.7, 0.7))``)."""

    def __init__(self, pnet, rnet=None, onet=None, lnet=None, lnet106=None, settings=DEFAULTS, legacy_clip=False,
                 chunk=(16, 8), interp=cv2.INTER_LINEAR, **overrides):
        if pnet is None or pnet.info.get('kind') != 'pnet':
            raise SettingError('the first stage must be a Pnet model')
        for model, kind in ((rnet, 'rnet'), (onet, 'onet'), (lnet, 'lnet'), (lnet106, 'lnet')):
            if model is not None and model.info.get('kind') != kind:
                raise SettingError('expected a %s model, got %s' % (kind, model.network))
        if onet is not None and rnet is None:
            raise SettingError('an Onet stage needs an Rnet stage before it')
        self.pnet, self.rnet, self.onet, self.lnet, self.lnet106 = pnet, rnet, onet, lnet, lnet106
        self.settings = s = settings.replace('detector settings', **overrides) if overrides else settings
        stages = 1 + (rnet is not None) + (onet is not None)
        if len(s.thresh) < stages:
            raise SettingError('thresh: %d threshold%s for a cascade of %d nets (one per stage)'
                               % (len(s.thresh), '' if len(s.thresh) == 1 else 's', stages))
        self.min_face, self.factor, self.thresh = s.min_face, s.factor, list(s.thresh)
        self.onet_flip, self.onet_passes, self.lnet_flip = s.onet_flip, s.onet_passes, s.lnet_flip
        self.legacy_clip = legacy_clip
        # R/O crops run in chunks small enough for their activations to stay in the CPU cache (an Onet
        # on 73 crops: 14.6 ms as one batch, 7.4 ms in chunks of 8, one thread)
        self.chunk = {'rnet': int(chunk[0]), 'onet': int(chunk[1])}
        self.interp = interp  # resampling of pyramid levels and crops (the original: bilinear)
        self.cell = pnet.info['cell']
        self.stride = pnet.info['stride']
        self._local = threading.local()  # per thread: input tensors per pyramid-level shape (see _buffers)

    def _buffers(self, shape):
        """This thread's input tensors per pyramid-level shape, reused while the image size stays (nothing of
        one call is kept on the object for another thread to see)."""
        buffers = getattr(self._local, 'buffers', None)
        if buffers is None or buffers.get('image') != shape:  # keep the level buffers of one image size only
            buffers = self._local.buffers = {'image': shape}
        return buffers

    # --- stages --------------------------------------------------------------------------
    def detect_pnet(self, img):
        """Returns (pre-regression boxes N×5, calibrated boxes N×5): every pyramid level through the
        Pnet, cells above the threshold as boxes, NMS 0.5 per level and 0.7 across levels."""
        h, w = img.shape[:2]
        buffers = self._buffers(img.shape)
        found = []
        for s in bx.pyramid_scales(w, h, self.min_face, self.cell, self.factor):
            size = (int(w * s), int(h * s))
            im = img if size == (w, h) else cv2.resize(img, size, interpolation=self.interp)
            x = buffers[im.shape] = to_tensor(im, buffers.get(im.shape))
            prob, reg = self.pnet(x)[:2]
            cand = bx.generate_bbox(prob[0, 1], reg[0], s, self.thresh[0], self.cell, self.stride)
            if len(cand):
                found.append(cand[bx.nms(cand, 0.5, 'Union')])
        if not found:
            return EMPTY, EMPTY
        cand = np.vstack(found)
        cand = cand[bx.nms(cand, 0.7, 'Union')]
        return cand[:, :5].copy(), bx.calibrate(cand[:, :5], cand[:, 5:9])

    @staticmethod
    def _run_batched(model, crops, chunk):
        parts = [model(crops[i:i + max(1, chunk)]) for i in range(0, len(crops), max(1, chunk))]
        return [np.concatenate(p) for p in zip(*parts)] if len(parts) > 1 else parts[0]

    @staticmethod
    def _squares(dets):
        sq = bx.square(dets)
        sq[:, :4] = np.round(sq[:, :4])
        return sq

    def _outputs(self, crops, model, last):
        """The net's outputs on ``crops``; for the last stage with ``onet_flip``, the face probabilities
        averaged with those of the mirrored crops."""
        chunk = self.chunk['onet' if last else 'rnet']
        outs = list(self._run_batched(model, crops, chunk))
        if last and self.onet_flip:
            mirrored = self._run_batched(model, np.ascontiguousarray(crops[..., ::-1]), chunk)
            outs[0] = (outs[0] + mirrored[0]) / 2
        return outs

    def _score(self, img, sq, model, size, last):
        """The net's outputs on the crops of the squared boxes ``sq``."""
        crops, _ = bx.crop_batch(img, sq, size, check_geometry=not last, interp=self.interp)
        return self._outputs(crops, model, last)

    def _refine(self, img, dets, model, thresh, size, last, outs=None):
        """A stage on the boxes of the stage before: (its raw boxes, its calibrated boxes, the Onet head's
        points or None). ``outs``: the net's outputs on this image's crops, when they were computed with
        other images' (:meth:`detect_batch`)."""
        h, w = img.shape[:2]
        sq = self._squares(dets)
        outs = self._score(img, sq, model, size, last) if outs is None else outs
        prob, reg = outs[0][:, 1], outs[1]
        keep = np.where(prob > thresh)[0]
        if keep.size == 0:
            return EMPTY, EMPTY, None
        base = bx.clip(sq, w, h) if self.legacy_clip else sq
        kept = base[keep]
        kept[:, 4] = prob[keep]
        reg = reg[keep]
        lms = outs[2][keep] if len(outs) > 2 else None
        if not last:
            order = bx.nms(kept, 0.7, 'Union')
            kept, reg = kept[order], reg[order]
            return kept, bx.calibrate(kept, reg), None
        calibrated, framed = bx.calibrate(kept, reg), kept
        for done in range(1, self.onet_passes):  # again on its own boxes, probabilities averaged
            framed = self._squares(calibrated)
            outs = self._score(img, framed, model, size, last)
            framed[:, 4] = (calibrated[:, 4] * done + outs[0][:, 1]) / (done + 1)
            calibrated = bx.calibrate(framed, outs[1])
            lms = outs[2] if len(outs) > 2 else None
        order = bx.nms(calibrated, 0.7, 'Minimum')
        points = None
        if lms is not None:
            points = _denormalise_points(from_vector(lms[order]), framed[order])
        return kept, calibrated[order], points  # the last stage's raw boxes: before its NMS, as the original

    def _refine_many(self, imgs, dets_list, model, thresh, size, last):
        """:meth:`_refine` over several images, the crops of all of them through the net in one batch."""
        crops = [bx.crop_batch(img, self._squares(d), size, check_geometry=not last, interp=self.interp)[0]
                 for img, d in zip(imgs, dets_list)]
        outs = self._outputs(np.concatenate(crops), model, last)
        bounds = np.cumsum([0] + [len(c) for c in crops])
        return [self._refine(img, d, model, thresh, size, last, [o[lo:hi] for o in outs])
                for img, d, lo, hi in zip(imgs, dets_list, bounds[:-1], bounds[1:])]

    def detect_rnet(self, img, dets):
        return self._refine(img, dets, self.rnet, self.thresh[1], self.rnet.info['size'], False)[:2]

    def detect_onet(self, img, dets):
        return self._refine(img, dets, self.onet, self.thresh[2], self.onet.info['size'], True)

    def _points(self, crops, model, flip):
        """Crop-normalised points of a landmark net on ``crops`` (``flip``: averaged with the mirrored crops')."""
        pts = from_vector(self._run_batched(model, crops, self.chunk['onet'])[0])
        if flip:
            # a crop-normalised x of the mirrored crop is 1 − x of the crop (pixel-centre convention)
            mirrored = from_vector(self._run_batched(model, np.ascontiguousarray(crops[..., ::-1]),
                                                     self.chunk['onet'])[0])
            pts = (pts + flip_points(mirrored)) / 2
        return pts

    def landmarks(self, img, boxes, model, flip=False):
        """Run a landmark net on the squared final boxes; N×P×2 image coordinates (``flip``: the mean of
        the crop's points and its mirror's, mapped back)."""
        return self._landmarks_many([img], [boxes], model, flip)[0]

    def _landmarks_many(self, imgs, boxes_list, model, flip=False):
        """:meth:`landmarks` of several images, their crops through the net in one batch."""
        sqs = [self._squares(b) for b in boxes_list]
        crops = [bx.crop_batch(img, sq, model.info['size'], check_geometry=False, interp=self.interp)[0]
                 for img, sq in zip(imgs, sqs) if len(sq)]
        empty = np.zeros((0, model.info['n_points'], 2))
        if not crops:
            return [empty for _ in imgs]
        pts = self._points(np.concatenate(crops), model, flip)
        out, start = [], 0
        for sq in sqs:
            out.append(_denormalise_points(pts[start:start + len(sq)], sq) if len(sq) else empty)
            start += len(sq)
        return out

    # --- public API ------------------------------------------------------------------------
    def detect_face(self, img, candidates=False, trace=None):
        """Boxes of the last stage run (N×5: x1 y1 x2 y2 score).

        By default the calibrated final boxes. ``candidates=True``: the last stage's
        pre-regression boxes, the candidates hard-example mining labels (as the original: Pnet and
        Rnet boxes after their NMS, Onet boxes before it). ``trace``: a :class:`Trace` that receives each
        stage's calibrated boxes and time and an Onet landmark head's points (nothing is kept on the
        detector, so threads may share one)."""
        _check_image(img)
        trace = trace if trace is not None else Trace()
        t0 = time.perf_counter()
        raw, boxes = self.detect_pnet(img)
        trace.times['pnet'] = time.perf_counter() - t0
        trace.stage_boxes['pnet'] = boxes
        for name in ('rnet', 'onet'):
            model = getattr(self, name)
            if model is None or len(boxes) == 0:
                continue
            t0 = time.perf_counter()
            if name == 'rnet':
                raw, boxes = self.detect_rnet(img, boxes)
            else:
                raw, boxes, trace.landmarks5 = self.detect_onet(img, boxes)
            trace.times[name] = time.perf_counter() - t0
            trace.stage_boxes[name] = boxes
        return raw if candidates else boxes

    def detect(self, img, trace=None):
        """Detect faces in a BGR image: (boxes N×4, scores N, landmarks N×5×2 or None).

        Landmarks come from a separate Lnet when given, else from an Onet-with-landmark head. With an
        Lnet106, ``trace.landmarks106`` holds N×106×2 points after the call (``trace``: a :class:`Trace`)."""
        trace = trace if trace is not None else Trace()
        dets = self.detect_face(img, trace=trace)
        points = trace.landmarks5
        if self.lnet is not None:
            t0 = time.perf_counter()
            points = self.landmarks(img, dets, self.lnet, self.lnet_flip)
            trace.times['lnet'] = time.perf_counter() - t0
        if self.lnet106 is not None:
            t0 = time.perf_counter()
            trace.landmarks106 = self.landmarks(img, dets, self.lnet106)
            trace.times['lnet106'] = time.perf_counter() - t0
        return dets[:, :4].copy(), dets[:, 4].copy(), points

    def detect_batch(self, imgs):
        """:meth:`detect` of several images (a list), each stage after the Pnet run once over the candidates
        of all of them: [(boxes, scores, points)], as :meth:`detect` gives them one by one (up to float noise
        of the nets' batch sizes). Faster than a loop where the Rnet, Onet and Lnet batches are small."""
        for img in imgs:
            _check_image(img)
        boxes = [self.detect_pnet(img)[1] for img in imgs]
        points = [None] * len(imgs)
        for name, k in (('rnet', 1), ('onet', 2)):
            model = getattr(self, name)
            todo = [i for i, b in enumerate(boxes) if len(b)]
            if model is None or not todo:
                break
            res = self._refine_many([imgs[i] for i in todo], [boxes[i] for i in todo], model, self.thresh[k],
                                    model.info['size'], name == 'onet')
            for i, r in zip(todo, res):
                boxes[i] = r[1]
                points[i] = r[2] if name == 'onet' else None
        if self.lnet is not None:
            points = self._landmarks_many(imgs, boxes, self.lnet, self.lnet_flip)
        return [(b[:, :4].copy(), b[:, 4].copy(), p) for b, p in zip(boxes, points)]


class Trace:
    """What one detection did, for the caller that asks: each stage's calibrated boxes (``stage_boxes``)
    and time (``times``), an Onet landmark head's points (``landmarks5``) and an Lnet106's
    (``landmarks106``)."""

    def __init__(self):
        self.times, self.stage_boxes, self.landmarks5, self.landmarks106 = {}, {}, None, None

    @property
    def counts(self):
        """Boxes after each stage run."""
        return {name: len(b) for name, b in self.stage_boxes.items()}


def _denormalise_points(pts, crops):
    """Crop-normalised N×P×2 points (:func:`core.landmarks.points.from_vector` of the net outputs) -> image
    pixels: x = v·side − 0.5 + crop_x1, the original's half-pixel convention."""
    side = np.stack([crops[:, 2] - crops[:, 0] + 1, crops[:, 3] - crops[:, 1] + 1], 1)[:, None, :]
    return pts * side - 0.5 + crops[:, None, 0:2]


def _check_image(img):
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise InputError('expected a BGR uint8 image H×W×3, got %s'
                         % (getattr(img, 'shape', type(img)),))


def draw(img, boxes, scores=None, landmarks=None, color=(0, 0, 255)):
    """A copy of ``img`` with boxes, scores and landmark points drawn."""
    out = img.copy()
    for i, b in enumerate(np.asarray(boxes)):
        x1, y1, x2, y2 = (int(round(v)) for v in b[:4])
        cv2.rectangle(out, (x1, y1), (x2, y2), color, 2)
        if scores is not None:
            cv2.putText(out, '%.3f' % scores[i], (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, (0, 255, 0), 1, cv2.LINE_AA)
    radius = 2 if landmarks is not None and np.asarray(landmarks).shape[1:2] == (5,) else 1
    for pts in (landmarks if landmarks is not None else []):
        for x, y in pts:
            cv2.circle(out, (int(round(x)), int(round(y))), radius, (0, 255, 255), -1)
    return out

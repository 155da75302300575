"""The face pipeline's one entry point, the same for every backend:

    from core.detect.faces import load_cascade
    cascade = load_cascade(point='default', backend='onnx')     # or 'mxnet', 'opencv'; models=<exported folder>
    faces = cascade.detect(img)                                 # [Face(box, score, points)]
    crops = cascade.align(img, faces, size=112)                 # aligned 112×112 crops for recognition

``load_cascade`` builds a published cascade (``model/default``, or ``card=``) at one of its operating points
and runs its nets with MXNet, ONNX Runtime or OpenCV DNN, or opens a folder written by ``tools/export.py``
(``models=``; ONNX Runtime, NCNN or MNN, without MXNet). A :class:`FaceCascade` keeps nothing of a call: two
threads may share one (ONNX Runtime runs their calls at once; the other runtimes hold per-net state, so
their calls take turns on a lock).
"""
import dataclasses
import json
import os
import threading
import typing

import numpy as np

from core.common.errors import SettingError
from core.common.fileio import FormatError
from core.recipes.cascade_settings import DEFAULTS, POINTS, stage_thresholds

from . import alignment

BACKENDS = ('onnx', 'mxnet', 'opencv')  # from a card's checkpoints; an exported folder: onnx, ncnn or mnn


@dataclasses.dataclass
class Face:
    """One detected face: ``box`` (x1, y1, x2, y2), ``score``, ``points`` (5×2: eyes, nose, mouth corners;
    None without a landmark net), and ``quality`` (yaw, blur) when asked for."""
    box: np.ndarray
    score: float
    points: typing.Optional[np.ndarray] = None
    quality: typing.Optional[dict] = None

    def to_dict(self):
        out = dict(box=[round(float(v), 2) for v in self.box], score=round(float(self.score), 5))
        out['points'] = None if self.points is None else [[round(float(v), 2) for v in p] for p in self.points]
        if self.quality is not None:
            out['quality'] = {k: round(float(v), 3) for k, v in self.quality.items()}
        return out


class _Locked:
    """A model whose runtime holds per-call state, called by one thread at a time."""

    def __init__(self, model):
        self.model, self.lock = model, threading.Lock()
        self.info, self.network = model.info, getattr(model, 'network', None)
        self.with_landmark = bool(getattr(model, 'with_landmark', None))

    def __call__(self, batch):
        with self.lock:
            return self.model(batch)


class FaceCascade:
    """A detector (:class:`core.detect.detector.MtcnnDetector`) behind the face pipeline's call shape."""

    def __init__(self, detector, quality=False):
        self.detector, self.quality = detector, quality

    @property
    def settings(self):
        return self.detector.settings

    def _faces(self, img, boxes, scores, points):
        faces = [Face(b, float(s), None if points is None else p) for b, s, p in
                 zip(boxes, scores, points if points is not None else [None] * len(boxes))]
        if self.quality:
            for f in faces:
                f.quality = quality(img, f)
        return faces

    def detect(self, img):
        """The faces in a BGR uint8 image, highest score first as the cascade returns them."""
        return self._faces(img, *self.detector.detect(img))

    def detect_batch(self, imgs):
        """The faces of each image of a list; the Rnet, Onet and Lnet run once over all their candidates."""
        return [self._faces(img, *res) for img, res in zip(imgs, self.detector.detect_batch(imgs))]

    def align(self, img, faces, size=112, margin=0.0):
        """Aligned crops of ``faces`` (their 5 points onto the recognition template of ``size``: 112, '96x112',
        or N for N×N); a face without points gets None."""
        return [None if f.points is None else alignment.align(img, f.points, size, margin) for f in faces]


def quality(img, face, size=112):
    """Signals a recognition pipeline may filter on: ``yaw`` (degrees, from the 5 points) and ``blur`` (the
    variance of the aligned crop's Laplacian; higher is sharper)."""
    if face.points is None:
        return {}
    return dict(yaw=alignment.yaw_estimate(face.points), blur=alignment.blur_score(alignment.align(img, face.points,
                                                                                                 size)))


def load_cascade(point='default', backend='onnx', card=None, models=None, threads=2, scheme='original',
                 landmarks=True, quality_signals=False, **settings):
    """A :class:`FaceCascade`: the published cascade of ``card`` (default ``model/default``) at operating
    point ``point``, its nets run by ``backend`` (onnx, mxnet, opencv), or the exported folder ``models``
    (its runtime's, no MXNet). ``settings``: CascadeSettings fields to change (``thresh``, ``min_face``, ...);
    ``landmarks=False`` leaves the landmark net out; ``quality_signals`` adds yaw and blur to every face."""
    if models:
        det = open_exported(models, threads, scheme, **settings)
    else:
        if backend not in BACKENDS:
            raise SettingError('backend %r: from a card, one of %s; NCNN and MNN run an exported folder '
                               '(tools/export.py --to ncnn --out DIR, then models=DIR)' % (backend, ', '.join(BACKENDS)))
        if point not in POINTS:
            raise SettingError('unknown operating point %r (%s)' % (point, ', '.join(POINTS)))
        from .cascade import default_card, build_cascade
        c = default_card(point=point, card=card)
        s = c.settings(point)
        if scheme != 'original':
            s = s.reset('onet_flip', 'onet_passes', 'lnet_flip')
        if 'thresh' in settings and settings['thresh'] is not None:
            settings['thresh'] = stage_thresholds(settings['thresh'], 3, 'thresh')
        s = s.replace('settings', **settings)
        det = build_cascade(c.prefix, c.epoch, c.networks, s, backend=backend, threads=threads,
                            lnet=c.lnet if landmarks else None, scheme=scheme)
        if backend != 'onnx':
            _lock_models(det)
    return FaceCascade(det, quality_signals)


def _lock_models(det):
    for name in ('pnet', 'rnet', 'onet', 'lnet', 'lnet106'):
        model = getattr(det, name, None)
        if model is not None:
            setattr(det, name, _Locked(model))


def open_exported(folder, threads=2, scheme='original', **overrides):
    """A detector from an exported cascade folder (``cascade.json`` and its nets; ONNX Runtime, NCNN or MNN),
    its settings those the folder records unless ``overrides`` change them (``thresh`` one per stage)."""
    from core.runtime.mobile_runtime import open_stage
    from .zqcnn_scheme import SCHEMES
    if scheme not in SCHEMES:
        raise SettingError('unknown scheme %r (%s)' % (scheme, ', '.join(SCHEMES)))
    path = os.path.join(folder, 'cascade.json')
    if not os.path.isfile(path):
        raise FileNotFoundError('%s: not found (export a cascade with tools/export.py)' % path)
    try:
        with open(path) as f:
            card = json.load(f)
        stages = card['stages']
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError('%s: not a cascade description written by tools/export.py (%s)' % (path, exc))
    runtime = card.get('runtime', 'onnxruntime')
    models = {stage: open_stage(folder, entry, runtime, threads) for stage, entry in stages.items()}
    if 'pnet' not in models:
        raise FormatError('%s: the cascade has no Pnet' % path)
    settings = DEFAULTS.replace(path, thresh=card.get('thresh'), min_face=card.get('min_face'),
                                factor=card.get('factor'),
                                lnet_flip=bool(card.get('lnet_flip')) and scheme == 'original')  # ZQCNN: one pass
    n_stages = sum(1 for stage in ('pnet', 'rnet', 'onet') if stage in models)
    for k, v in overrides.items():  # each checked, thresholds one per stage
        if v is not None and k != 'nms':
            v = stage_thresholds(v, n_stages, '--thresh') if k == 'thresh' else v
            settings = settings.replace('--' + k, **{k: v})
    nms = {'nms': overrides['nms']} if overrides.get('nms') is not None else {}
    det = SCHEMES[scheme](models['pnet'], models.get('rnet'), models.get('onet'), lnet=models.get('lnet'),
                          settings=settings, **nms)
    if runtime != 'onnxruntime':
        _lock_models(det)
    return det

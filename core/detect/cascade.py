"""Building a detector from checkpoints: the one way demo, evaluation, mining and benchmarks do it.

    det = load_cascade(['model/pnet20', 'model/rnet', 'model/onet'], [16, 16, 16], thresh=(0.5, 0.5, 0.7))
    det = default_cascade()            # the committed default models with their recorded settings

``default_cascade`` reads ``model/default/models.json`` (written by ``tools/publish_models.py``:
prefixes, epochs, thresholds, minimum face, optional landmark net); without it, the original's
shipped models under the reference folder are used.
"""
import os

from config import REPO_ROOT, config

from .zqcnn_scheme import SCHEMES
from core.common.fileio import FormatError, load_json

DEFAULT_CARD = os.path.join(REPO_ROOT, 'model', 'default', 'models.json')  # committed with the code
SHIPPED = dict(prefix=['pnet20_v1', 'rnet_v1', 'onet_v1'], epoch=[16, 16, 16], thresh=[0.5, 0.5, 0.7], min_face=20)


def shipped_dir():
    return os.path.join(config.shared, 'models', 'train-mtcnn')


POINTS = ('default', 'accurate')
BACKENDS = ('mxnet', 'onnx', 'opencv')  # MXNet, ONNX Runtime, OpenCV DNN (the last two from an in-memory ONNX export)


def default_card(prefer_committed=True, point='default'):
    """The default cascade's settings: ``prefix`` (absolute), ``epoch``, ``thresh``, ``min_face``,
    ``lnet`` (``[prefix, epoch]`` or None) and ``lnet_flip`` (whether its points are averaged with the
    mirrored crop's); from ``models.json`` or the shipped models.

    ``point``: the operating point whose thresholds to use, as ``tools/operating_points.py`` chose them
    on the dev split: ``default`` (high precision, fast: pictures and deployment) or ``accurate``
    (the best dev AP: evaluation); a card without points has one set of thresholds for both.
    ``tta``: the point's test-time options of the Onet (``onet_flip``, ``onet_passes``; off unless
    the point records them)."""
    if point not in POINTS:
        raise ValueError('unknown operating point %r (%s)' % (point, ', '.join(POINTS)))
    if prefer_committed and os.path.isfile(DEFAULT_CARD):
        card = load_json(DEFAULT_CARD, 'default model card')
        base = os.path.dirname(DEFAULT_CARD)
        try:
            entry = card['points'][point] if 'points' in card else card
            out = dict(prefix=[os.path.join(base, p) for p in card['prefix']], epoch=[int(e) for e in card['epoch']],
                       thresh=[float(t) for t in entry['thresh']], min_face=float(card.get('min_face', 20)),
                       lnet=None, lnet_flip=False, tta=tta_options(entry))
            if card.get('lnet'):
                out['lnet'] = [os.path.join(base, card['lnet']['prefix']), int(card['lnet']['epoch'])]
                out['lnet_flip'] = bool(card['lnet'].get('flip', False))
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError('%s: malformed model card (%s)' % (DEFAULT_CARD, exc))
        return out
    return dict(SHIPPED, prefix=[os.path.join(shipped_dir(), p) for p in SHIPPED['prefix']], lnet=None,
                lnet_flip=False, tta=tta_options({}))


def tta_options(entry):
    """The Onet's test-time options recorded in an operating point (``onet_flip``, ``onet_passes``)."""
    return dict(onet_flip=bool(entry.get('onet_flip', False)), onet_passes=int(entry.get('onet_passes', 1)))


def load_stage_models(prefixes, epochs, networks=None, backend='mxnet', threads=2, ctx=None):
    """Models of 1–3 checkpoints (``backend``: one of BACKENDS)."""
    from core.runtime.model_io import load_model
    if not 1 <= len(prefixes) <= 3:
        raise ValueError('a cascade takes 1 to 3 checkpoint prefixes (P[,R[,O]]), got %d' % len(prefixes))
    if len(epochs) != len(prefixes):
        raise ValueError('give one epoch per prefix (%d prefixes, %d epochs)' % (len(prefixes), len(epochs)))
    networks = list(networks or []) + [None] * (len(prefixes) - len(networks or []))
    models = [load_model(p, e, network=n, ctx=ctx) for p, e, n in zip(prefixes, epochs, networks)]
    return [to_backend(m, backend, threads) for m in models]


def to_backend(model, backend='mxnet', threads=2):
    if backend == 'onnx':
        from core.export.onnx_export import to_onnx_model
        return to_onnx_model(model, threads=threads)
    if backend == 'opencv':
        from core.export.onnx_export import to_opencv_model
        return to_opencv_model(model, threads=threads)
    if backend != 'mxnet':
        raise ValueError('unknown backend %r (%s)' % (backend, ', '.join(BACKENDS)))
    return model


def load_cascade(prefixes, epochs, networks=None, thresh=(0.6, 0.7, 0.7), min_face=20, factor=0.709,
                 backend='mxnet', threads=2, ctx=None, lnet=None, lnet106=None, scheme='original', **kw):
    """An :class:`MtcnnDetector` from checkpoints. ``lnet`` / ``lnet106``: ``(prefix, epoch)`` of a
    5-point / 106-point landmark net run on the final boxes; ``scheme``: ``original`` or ``zqcnn``
    (:class:`core.detect.zqcnn_scheme.ZqcnnDetector`, which also takes ``nms`` and ``overlap_count``)."""
    if scheme not in SCHEMES:
        raise ValueError('unknown scheme %r (%s)' % (scheme, ', '.join(SCHEMES)))
    from core.runtime.model_io import load_model
    models = load_stage_models(prefixes, epochs, networks, backend, threads, ctx) + [None] * (3 - len(prefixes))
    extra = {k: to_backend(load_model(v[0], int(v[1]), ctx=ctx), backend, threads)
             for k, v in (('lnet', lnet), ('lnet106', lnet106)) if v}
    return SCHEMES[scheme](models[0], models[1], models[2], min_face=min_face, thresh=thresh, factor=factor,
                           **extra, **kw)


def default_cascade(backend='mxnet', threads=2, prefer_committed=True, point='default', **kw):
    """The committed default cascade (thresholds and Onet options of ``point``, minimum face and
    landmark net as recorded)."""
    card = default_card(prefer_committed, point)
    opts = dict(thresh=card['thresh'], min_face=card['min_face'], lnet=card['lnet'], lnet_flip=card['lnet_flip'],
                **card['tta'])
    opts.update(kw)
    return load_cascade(card['prefix'], card['epoch'], backend=backend, threads=threads, **opts)

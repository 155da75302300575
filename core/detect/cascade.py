"""Building a detector from checkpoints: the one way demo, evaluation, mining and benchmarks do it (the face
pipeline's user-facing entry point is :func:`core.detect.faces.load_cascade`).

    det = build_cascade(['model/pnet20', 'model/rnet', 'model/onet'], [16, 16, 16])   # the default settings
    det = default_cascade()            # the committed default models at their default operating point

``default_card`` reads ``model/default/models.json`` (written by ``tools/publish_models.py`` and
``tools/operating_points.py --write``: prefixes, epochs, networks, the operating points, the landmark
net); without it, the original's shipped models under the reference folder are used with the
:class:`core.recipes.cascade_settings.CascadeSettings` defaults (the original demo20.py's).
"""
import os

from config import REPO_ROOT, config
from core.common.errors import SettingError
from core.recipes.cascade_settings import DEFAULTS, POINTS, CascadeSettings, ModelCard, read_card  # noqa: F401

from .zqcnn_scheme import SCHEMES

DEFAULT_CARD = os.path.join(REPO_ROOT, 'model', 'default', 'models.json')  # committed with the code
SHIPPED = dict(prefix=('pnet20_v1', 'rnet_v1', 'onet_v1'), epoch=(16, 16, 16))
BACKENDS = ('mxnet', 'onnx', 'opencv')  # MXNet, ONNX Runtime, OpenCV DNN (the last two from an in-memory ONNX export)


def shipped_dir():
    return os.path.join(config.shared, 'models', 'train-mtcnn')


def shipped_card():
    """The original's shipped models as a card: one point, the default settings (its demo20.py's)."""
    return ModelCard('(the original\'s shipped models)', tuple(os.path.join(shipped_dir(), p) for p in SHIPPED['prefix']),
                     SHIPPED['epoch'], (None, None, None), {'default': DEFAULTS})


def default_card(prefer_committed=True, point=None, card=None):
    """The default cascade's :class:`core.recipes.cascade_settings.ModelCard`: ``card`` (a ``models.json``, or
    the folder holding one) when given, else the committed ``model/default/models.json``, or the original's
    shipped models (``prefer_committed=False``, or no card committed). ``point`` is only checked here (an
    unknown name is an error); :meth:`ModelCard.settings` gives its settings."""
    if point is not None and point not in POINTS:
        raise SettingError('unknown operating point %r (%s)' % (point, ', '.join(POINTS)))
    if card:
        path = os.path.join(card, 'models.json') if os.path.isdir(card) else card
        if not os.path.isfile(path):
            raise FileNotFoundError('model card not found: %s (a models.json written by tools/publish_models.py, '
                                    'or its folder)' % path)
        return read_card(path)
    if prefer_committed and os.path.isfile(DEFAULT_CARD):
        return read_card(DEFAULT_CARD)
    return shipped_card()


def load_stage_models(prefixes, epochs, networks=None, backend='mxnet', threads=2, ctx=None):
    """Models of 1–3 checkpoints (``backend``: one of BACKENDS)."""
    from core.runtime.model_io import load_model
    if not 1 <= len(prefixes) <= 3:
        raise SettingError('a cascade takes 1 to 3 checkpoint prefixes (P[,R[,O]]), got %d' % len(prefixes))
    if len(epochs) != len(prefixes):
        raise SettingError('give one epoch per prefix (%d prefixes, %d epochs)' % (len(prefixes), len(epochs)))
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
        raise SettingError('unknown backend %r (%s)' % (backend, ', '.join(BACKENDS)))
    return model


def build_cascade(prefixes, epochs, networks=None, settings=DEFAULTS, backend='mxnet', threads=2, ctx=None,
                 lnet=None, lnet106=None, scheme='original', **kw):
    """A detector (:class:`core.detect.detector.MtcnnDetector`, or with ``scheme='zqcnn'``
    :class:`core.detect.zqcnn_scheme.ZqcnnDetector`, which also takes ``nms``) from checkpoints, run with
    ``settings`` (a :class:`CascadeSettings`; its thresholds: one per prefix, or the defaults' first ones).
    ``lnet`` / ``lnet106``: ``(prefix, epoch)`` of a 5-point / 106-point landmark net run on the final boxes."""
    if scheme not in SCHEMES:
        raise SettingError('unknown scheme %r (%s)' % (scheme, ', '.join(SCHEMES)))
    from core.runtime.model_io import load_model
    models = load_stage_models(prefixes, epochs, networks, backend, threads, ctx) + [None] * (3 - len(prefixes))
    extra = {k: to_backend(load_model(v[0], int(v[1]), ctx=ctx), backend, threads)
             for k, v in (('lnet', lnet), ('lnet106', lnet106)) if v}
    return SCHEMES[scheme](models[0], models[1], models[2], settings=settings, **extra, **kw)


def default_cascade(backend='mxnet', threads=2, prefer_committed=True, point='default', landmarks=True, card=None,
                    **kw):
    """The committed default cascade (or the one of ``card``) at operating point ``point`` with its landmark
    net (``landmarks``)."""
    card = default_card(prefer_committed, point, card)
    return build_cascade(card.prefix, card.epoch, card.networks, card.settings(point), backend=backend,
                        threads=threads, lnet=card.lnet if landmarks else None, **kw)

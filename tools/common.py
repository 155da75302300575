"""Command-line plumbing shared by demo.py and the tools: detector flags and construction."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from config import config  # noqa: E402

SHIPPED = os.path.join(config.shared, 'models', 'train-mtcnn')


def _csv(text, cast=str):
    return [cast(v) for v in text.split(',') if v.strip() != '']


def add_checkpoint_args(ap):
    """--prefix/--epoch/--network of a single checkpoint."""
    ap.add_argument('--prefix', required=True)
    ap.add_argument('--epoch', type=int, required=True)
    ap.add_argument('--network', default=None, help='registered variant (default: read from the checkpoint or matched)')
    return ap


def load_checkpoint(args):
    """The model of :func:`add_checkpoint_args` flags, or None after printing a clear error."""
    from core.model_io import ModelError, load_model
    try:
        return load_model(args.prefix, args.epoch, network=args.network)
    except ModelError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return None


DEFAULT_MODELS = os.path.join(config.root, 'model', 'default', 'models.json')


def default_cascade(prefer_committed=True):
    """(prefixes, epochs, thresholds) as comma lists: the project's committed default models
    (``model/default/models.json``) when present and preferred, else the original's shipped models."""
    if prefer_committed and os.path.isfile(DEFAULT_MODELS):
        import json
        with open(DEFAULT_MODELS) as f:
            card = json.load(f)
        base = os.path.dirname(DEFAULT_MODELS)
        return (','.join(os.path.join(base, p) for p in card['prefix']), ','.join(str(e) for e in card['epoch']),
                ','.join(str(t) for t in card['thresh']))
    return (','.join(os.path.join(SHIPPED, p) for p in ('pnet20_v1', 'rnet_v1', 'onet_v1')), '16,16,16',
            '0.5,0.5,0.7')


def add_detector_args(ap, committed_defaults=False):
    """The original demo20.py flags plus network names, backend and landmark nets. Without
    ``--prefix`` the cascade is the committed default models (``committed_defaults``, with their
    recorded epochs and thresholds) or the original's shipped models."""
    ap.set_defaults(committed_defaults=committed_defaults)
    ap.add_argument('--prefix', default=None, help='checkpoint prefixes P[,R[,O]] (default: %s)'
                    % ('model/default/models.json, else the shipped models' if committed_defaults else 'the shipped models'))
    ap.add_argument('--epoch', default=None, help='epochs, one per prefix (default 16 each)')
    ap.add_argument('--pnet', default=None, help='Pnet variant (default: read/matched from the checkpoint)')
    ap.add_argument('--rnet', default=None, help='Rnet variant')
    ap.add_argument('--onet', default=None, help='Onet variant')
    ap.add_argument('--thresh', default=None, help='stage thresholds (default 0.5,0.5,0.7 or the default models\' own)')
    ap.add_argument('--min_face', type=float, default=20)
    ap.add_argument('--factor', type=float, default=0.709, help='pyramid scale factor')
    ap.add_argument('--lnet', default=None, help='5-point Lnet checkpoint as prefix,epoch')
    ap.add_argument('--lnet106', default=None, help='106-point Lnet checkpoint as prefix,epoch')
    ap.add_argument('--backend', choices=['mxnet', 'onnx'], default='mxnet',
                    help='run the nets with MXNet or with ONNX Runtime (exported on the fly)')
    ap.add_argument('--threads', type=int, default=2, help='ONNX Runtime threads')
    ap.add_argument('--legacy_clip', action='store_true',
                    help="reproduce the original's in-place clipping of boxes by the crop step")
    ap.add_argument('--gpu', type=int, default=-1, help='GPU id, -1 = CPU')
    return ap


def resolve_detector_args(args):
    """Fill in --prefix/--epoch/--thresh left at their defaults (see :func:`add_detector_args`)."""
    if not args.prefix:
        args.prefix, epochs, thresh = default_cascade(getattr(args, 'committed_defaults', False))
        args.epoch = args.epoch or epochs
        args.thresh = args.thresh or thresh
    args.epoch = args.epoch or ','.join(['16'] * len(_csv(args.prefix)))
    args.thresh = args.thresh or '0.5,0.5,0.7'
    return args


def build_detector(args):
    """An :class:`core.detector.MtcnnDetector` from parsed :func:`add_detector_args` flags."""
    import mxnet as mx
    resolve_detector_args(args)
    from core.detector import MtcnnDetector
    from core.model_io import load_model

    ctx = mx.gpu(args.gpu) if args.gpu >= 0 else mx.cpu()
    prefixes, epochs = _csv(args.prefix), _csv(args.epoch, int)
    if not prefixes or len(prefixes) > 3:
        raise SystemExit('error: --prefix takes 1 to 3 comma-separated checkpoint prefixes')
    if len(epochs) < len(prefixes):
        raise SystemExit('error: --epoch needs one epoch per prefix (%s)' % args.prefix)
    names = [args.pnet, args.rnet, args.onet]
    models = [load_model(p, e, network=n, ctx=ctx) for p, e, n in zip(prefixes, epochs, names)]
    extra = {}
    for key in ('lnet', 'lnet106'):
        spec = getattr(args, key)
        if spec:
            p, e = spec.rsplit(',', 1)
            extra[key] = load_model(p, int(e), ctx=ctx)
    if args.backend == 'onnx':
        from core.onnx_backend import to_onnx_model
        models = [to_onnx_model(m, threads=args.threads) for m in models]
        extra = {k: to_onnx_model(m, threads=args.threads) for k, m in extra.items()}
    models += [None] * (3 - len(models))
    return MtcnnDetector(models[0], models[1], models[2], min_face=args.min_face,
                         thresh=_csv(args.thresh, float), factor=args.factor,
                         legacy_clip=args.legacy_clip, **extra)

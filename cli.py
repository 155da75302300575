"""Command-line plumbing shared by the entry points and tools: detector flags, checkpoint flags and
the error policy (one line ``error: <file>: <what is wrong>`` and a non-zero exit, never a
traceback for bad input; Ctrl-C exits 130 with a line saying how to resume)."""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.abspath(__file__))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from config import config  # noqa: E402


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the module docstring's layout and shows every flag's default."""


def parser(doc, **kw):
    return argparse.ArgumentParser(description=doc, formatter_class=HelpFormatter, **kw)


def csv_list(text, cast=str, what='value'):
    """``'a,b,c'`` -> [cast(a), ...] with a clear error for a bad item."""
    out = []
    for v in str(text).split(','):
        if v.strip() == '':
            continue
        try:
            out.append(cast(v.strip()))
        except ValueError:
            raise argparse.ArgumentTypeError('%s %r is not a %s' % (what, v, cast.__name__))
    return out


def expected_errors():
    """The exception types that mean bad input (reported in one line, not as a traceback)."""
    from core.fileio import FormatError
    errors = (OSError, ValueError, FormatError, EOFError)
    try:
        from core.model_io import ModelError
        errors += (ModelError,)
    except ImportError:  # pragma: no cover - mxnet missing
        pass
    return errors


def run(main, argv=None):
    """Run ``main(argv)`` under the error policy; returns the exit code. SIGTERM is handled like
    Ctrl-C, and a command started by the pipeline stops when the pipeline is gone."""
    from core.lifecycle import terminate_as_interrupt, watch_env
    terminate_as_interrupt()
    watch_env()
    try:
        return main(argv)
    except KeyboardInterrupt as exc:
        from core.lifecycle import Interrupted
        print('\n' + (str(exc) if isinstance(exc, Interrupted) else 'interrupted; rerun the same command to resume'),
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        sys.stdout = open(os.devnull, 'w')
        return 0
    except expected_errors() as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2


# --- checkpoints and detectors ---------------------------------------------------------------------

def add_checkpoint_args(ap, required=True):
    """--prefix/--epoch/--network of a single checkpoint."""
    ap.add_argument('--prefix', required=required, help='checkpoint prefix (files <prefix>-symbol.json, '
                                                         '<prefix>-NNNN.params)')
    ap.add_argument('--epoch', type=int, required=required, help='checkpoint epoch')
    ap.add_argument('--network', default=None, help='registered variant (default: read from the checkpoint or matched)')
    return ap


def load_checkpoint(args):
    from core.model_io import load_model
    return load_model(args.prefix, args.epoch, network=args.network)


def add_detector_args(ap, committed_defaults=True, point='default'):
    """Cascade flags (the original demo20.py's, plus network names, backend and landmark nets).
    Without ``--prefix`` the cascade is the committed default models (with their recorded epochs,
    thresholds and landmark net) or, with ``committed_defaults=False``, the original's shipped ones."""
    from core.image import MAX_PIXELS
    ap.set_defaults(committed_defaults=committed_defaults)
    ap.add_argument('--prefix', default=None, help='checkpoint prefixes P[,R[,O]] (default: %s)'
                    % ('model/default (models.json)' if committed_defaults else "the original's shipped models"))
    ap.add_argument('--epoch', default=None, help='epochs, one per prefix (default: those of the default models)')
    ap.add_argument('--pnet', default=None, help='Pnet variant (default: read/matched from the checkpoint)')
    ap.add_argument('--rnet', default=None, help='Rnet variant')
    ap.add_argument('--onet', default=None, help='Onet variant')
    ap.add_argument('--thresh', default=None, help="stage thresholds (default: the default models' at --point, "
                                                   "else 0.5,0.5,0.7)")
    from core.cascade import BACKENDS, POINTS, SCHEMES
    ap.add_argument('--point', choices=POINTS, default=point,
                    help="the default models' operating point (chosen on the dev split): default = high "
                         'precision and fast, accurate = the best dev AP')
    ap.add_argument('--min_face', type=float, default=None, help='smallest face in pixels (default: the models\' own, 20)')
    ap.add_argument('--factor', type=float, default=0.709, help='pyramid scale factor')
    ap.add_argument('--lnet', default=None, help='5-point Lnet checkpoint as prefix,epoch (default: the default '
                                                  "models' own when --prefix is not given; 'none' for none)")
    ap.add_argument('--lnet106', default=None, help='106-point Lnet checkpoint as prefix,epoch')
    ap.add_argument('--backend', choices=list(BACKENDS), default='mxnet',
                    help='run the nets with MXNet, ONNX Runtime or OpenCV DNN (both exported on the fly)')
    ap.add_argument('--threads', type=int, default=2, help='ONNX Runtime / OpenCV threads')
    ap.add_argument('--scheme', choices=list(SCHEMES), default='original',
                    help="candidate flow: the training toolkit's (original; mining and faithful results) or the "
                         "one ZQCNN's C++ MTCNN runs (zqcnn; preview what a ZQCNN deployment finds)")
    ap.add_argument('--nms', default=None, help='zqcnn scheme: NMS thresholds of the three stages (default 0.4,0.5,0.5)')
    ap.add_argument('--legacy_clip', action='store_true',
                    help="reproduce the original's in-place clipping of boxes by the crop step")
    ap.add_argument('--gpu', type=int, default=-1, help='GPU id, -1 = CPU')
    ap.add_argument('--max_pixels', type=int, default=MAX_PIXELS, help='refuse larger images (0 = no limit)')
    return ap


def _landmark_flag(text, what):
    if not text or text.lower() == 'none':
        return None
    prefix, _, epoch = text.rpartition(',')
    if not prefix or not epoch.isdigit():
        raise ValueError('%s takes prefix,epoch (e.g. model/lnet,16), got %r' % (what, text))
    return [prefix, int(epoch)]


def resolve_detector_args(args):
    """Fill in what the flags left to the defaults; returns the keyword arguments of
    :func:`core.cascade.load_cascade`."""
    from core.cascade import default_card
    card = default_card(getattr(args, 'committed_defaults', True), getattr(args, 'point', 'default')) \
        if not args.prefix else None
    prefixes = csv_list(args.prefix) if args.prefix else card['prefix']
    if args.epoch:
        epochs = csv_list(args.epoch, int, 'epoch')
    elif card:
        epochs = card['epoch']
    else:
        raise ValueError('--epoch is required with --prefix (one epoch per prefix, e.g. --epoch 16,16,16)')
    thresh = csv_list(args.thresh, float, 'threshold') if args.thresh else (card['thresh'] if card else [0.5, 0.5, 0.7])
    min_face = args.min_face if args.min_face is not None else (card['min_face'] if card else 20)
    lnet = _landmark_flag(args.lnet, '--lnet') if args.lnet else (card['lnet'] if card else None)
    out = dict(prefixes=prefixes, epochs=epochs, networks=[args.pnet, args.rnet, args.onet][:len(prefixes)],
               thresh=thresh, min_face=min_face, factor=args.factor, backend=args.backend, threads=args.threads,
               lnet=lnet, lnet106=_landmark_flag(args.lnet106, '--lnet106'), legacy_clip=args.legacy_clip)
    scheme = getattr(args, 'scheme', 'original')
    if scheme != 'original':
        out['scheme'] = scheme
        out.pop('legacy_clip')
        if getattr(args, 'nms', None):
            out['nms'] = csv_list(args.nms, float, 'NMS threshold')
    elif getattr(args, 'nms', None):
        raise ValueError('--nms applies to --scheme zqcnn only')
    return out


def detector_from_args(args):
    """An :class:`core.detector.MtcnnDetector` from :func:`add_detector_args` flags."""
    from core.cascade import load_cascade
    ctx = None
    if args.gpu >= 0:
        from core.devices import gpu_context
        ctx = gpu_context(args.gpu)
    return load_cascade(ctx=ctx, **resolve_detector_args(args))


# --- training --------------------------------------------------------------------------------------

# the kind of network each entry point trains (a Pnet script given an Rnet is a mistake)
SCRIPT_KINDS = {'train_P20.py': ('pnet', 20), 'train_P16.py': ('pnet', 16), 'train_R.py': ('rnet', None),
                'train_O.py': ('onet', None), 'train_L.py': ('lnet', 5), 'train_L106.py': ('lnet', 106)}


def _epoch_or_last(text):
    return text if text == 'last' else int(text)


def resolve_list(name):
    """A list path as given (or relative to the project root), or ``data/imglists/<name>.txt`` (the
    original's ``--image_set`` names); also says whether it was found by name."""
    if name is None or os.path.exists(name):
        return name, False
    if os.path.exists(os.path.join(config.root, name)):
        return os.path.join(config.root, name), False
    cand = os.path.join(config.root, 'data', 'imglists', name + ('' if name.endswith('.txt') else '.txt'))
    return (cand, True) if os.path.exists(cand) else (name, False)


def training_parser(doc, script, argv=None):
    """The original trainers' flags, with defaults from the stage table (``--recipe``/``--phase``
    pick the .bat step and its command)."""
    recipes = [k for k, v in config.STAGES.items() if v.script == script]
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--recipe', choices=recipes, default=recipes[0])
    pre.add_argument('--phase', type=int, default=1)
    known, _ = pre.parse_known_args(argv)
    stage = config.STAGES[known.recipe]
    if not 1 <= known.phase <= len(stage.phases):
        raise SystemExit('error: recipe %s has %d phase(s), not %d' % (known.recipe, len(stage.phases), known.phase))
    ph = stage.phases[known.phase - 1]
    ap = parser(doc)
    ap.add_argument('--recipe', choices=recipes, default=recipes[0],
                    help='the original .bat step whose settings are the defaults (config.STAGES)')
    ap.add_argument('--phase', type=int, default=1, help='the trainer command of that step (a second phase '
                    'continues from the checkpoint the first one ended with, at its own lr)')
    g = ap.add_argument_group('model and data')
    g.add_argument('--network', default=stage.network, help='registered variant (case-insensitive)')
    g.add_argument('--image_set', default=stage.image_set, help='training list: a path, or a name under data/imglists')
    g.add_argument('--val_list', default=None, help='validation list (default: a held-out split of the training list)')
    g.add_argument('--val_ratio', type=float, default=stage.get('val_ratio', 0.02),
                   help='held-out fraction when there is no --val_list')
    g.add_argument('--prefix', default=os.path.join(config.root, stage.prefix), help='checkpoint prefix')
    if SCRIPT_KINDS[script][0] == 'lnet':
        g.add_argument('--basenum', type=int, default=None, help='Lnet width (16/32/64/128; default 32)')
    if SCRIPT_KINDS[script][0] == 'onet':
        g.add_argument('--with_landmark', action='store_true', default=bool(stage.get('with_landmark')),
                       help='also train the 5-point head on landmark samples (label -2)')
    g = ap.add_argument_group('schedule (defaults: the recipe phase)')
    g.add_argument('--lr', type=float, default=ph['lr'], help='learning rate (losses are means over a batch)')
    g.add_argument('--lr_epoch', default=ph['lr_epoch'], help='epochs where lr is multiplied by 0.1')
    g.add_argument('--begin_epoch', type=_epoch_or_last, default='last' if known.phase > 1 else ph.get('begin_epoch', 0),
                   help="first epoch (with --resume: the checkpoint to continue from; 'last' = the newest)")
    g.add_argument('--end_epoch', type=int, default=ph['end_epoch'], help='last epoch')
    g.add_argument('--batch_size', type=int, default=ph['batch_size'], help='samples per step (all devices)')
    g.add_argument('--wd', type=float, default=ph.get('wd', 1e-5), help='weight decay (weights and gammas)')
    from core.optim import OPTIMIZERS
    g.add_argument('--optimizer', choices=OPTIMIZERS, default=ph.get('optimizer', 'sgd'),
                   help="SGD with momentum 0.9 (the original's) or Adam (beta1 0.9)")
    g.add_argument('--frequent', type=int, default=ph['frequent'], help='log every this many batches')
    g.add_argument('--save_every', type=int, default=stage.get('save_every', 1), help='checkpoint every N epochs')
    g = ap.add_argument_group('starting point')
    g.add_argument('--resume', action='store_true', default=known.phase > 1 or bool(ph.get('resume')),
                   help='continue from --prefix at --begin_epoch (else from --pretrained at --epoch); the '
                        'optimizer state continues only if lr, schedule and batch are unchanged')
    g.add_argument('--pretrained', default=None, help='checkpoint prefix to start from (with --epoch)')
    g.add_argument('--epoch', type=int, default=None, help='epoch of --pretrained')
    g = ap.add_argument_group('training switches')
    g.add_argument('--no_ohem', action='store_true', help='no online hard example mining (keep every sample)')
    g.add_argument('--no_flip', action='store_true', default=stage.get('flip', True) is False,
                   help='do not double the epoch with mirrored samples')
    g.add_argument('--prelu_init', type=float, default=stage.get('prelu_init', 1.0),
                   help="initial PReLU slope (the original's 1.0)")
    if SCRIPT_KINDS[script][0] in ('lnet', 'onet'):
        from core.losses import LANDMARK_LOSSES
        g.add_argument('--landmark_loss', choices=LANDMARK_LOSSES, default=stage.get('landmark_loss', 'l2'),
                       help="landmark regression: squared error (the original's) or absolute error")
        g.add_argument('--target_norm', action='store_true', default=bool(stage.get('target_norm')),
                       help='freeze the landmark output BatchNorm at the training targets\' mean and std, so '
                            'the net learns standardised targets (the inference graph is unchanged)')
    g.add_argument('--micro_batch', type=int, default=-1, help='chunk size of gradient accumulation '
                   '(-1 auto: cache-sized on CPU; 0 off); chunks do OHEM and BN like devices')
    g.add_argument('--seed', type=int, default=0)
    g = ap.add_argument_group('machines')
    g.add_argument('--gpus', default=os.environ.get('GPUS', ''), help='e.g. 0 or 0,1; empty = CPU (env GPUS)')
    g.add_argument('--kvstore', default='device', help='device, local, or dist_sync (see tools/launch.py)')
    g.add_argument('--workers', '--thread_num', type=int, default=2,
                   help='processes decoding and augmenting batches (0 = in the training process)')
    g.add_argument('--quiet', action='store_true', help='no progress bar')
    if SCRIPT_KINDS[script][0] == 'lnet':
        g = ap.add_argument_group('landmark lists')
        g.add_argument('--online', action='store_true', default=bool(stage.get('online')),
                       help='online augmentation from a landmark list (rotation, crop, flip, blur)')
        g.add_argument('--offline', dest='online', action='store_false', help='train on pre-cut crops (a sample list)')
        g.add_argument('--list_format', choices=['celeba', 'cuhk', 'l106'],
                       default=stage.get('list_format', 'cuhk' if SCRIPT_KINDS[script][1] == 5 else 'l106'))
        g.add_argument('--image_root', default=None, help='online: image folder (default: data/<config.landmark_'
                       'img_set> for a list named under data/imglists, else the list\'s folder)')
        g.add_argument('--min_landmark_size', type=float, default=stage.get('min_landmark_size', 0),
                       help='online: keep faces whose landmark extent is at least this many pixels')
        g.add_argument('--no_photometric', dest='photometric', action='store_false',
                       default=stage.get('photometric', True),
                       help="online: no brightness, grey/colour gains, noise or blur (geometric augmentation only)")
        g.add_argument('--photometric', dest='photometric', action='store_true',
                       help="online: the original's brightness, grey/colour gains, noise and blur (config.py's switches)")
        g.add_argument('--box_jitter', default=stage.get('box_jitter', '0.05,0.1,15'),
                       help='--framing box: centre shift and side scale (fractions of the side), rotation (degrees)')
        from core.data import FRAMINGS
        g.add_argument('--framing', choices=FRAMINGS, default=stage.get('framing', 'original'),
                       help="online 5-point crops: the original's random 0.5-2.5x crops, or the detector's "
                            "box of each face (a list from prepare_data/landmark_boxes.py) slightly jittered")
    return ap


def check_kind(script, network):
    """The registered spelling of ``network``, if ``script`` trains that kind of net; a clear error otherwise."""
    import symbols
    network = symbols.canonical_name(network)
    info = symbols.network_info(network)
    kind, size = SCRIPT_KINDS[script]
    detail = info['size'] if kind == 'pnet' else info['n_points'] if kind == 'lnet' else None
    if info['kind'] != kind or (size is not None and detail != size):
        want = {'pnet': 'Pnet%d' % (size or 0), 'rnet': 'Rnet', 'onet': 'Onet', 'lnet': '%d-point landmark' % (size or 0)}
        right = next(sc for sc, (k, n) in SCRIPT_KINDS.items() if k == info['kind'] and n in (
            None, info['size'] if k == 'pnet' else info['n_points']))
        raise ValueError('%s trains %s networks; %s is a %s net (use %s)' % (script, want[kind], network,
                                                                           info['kind'], right))
    return network


def _begin_epoch(args):
    if args.begin_epoch != 'last':
        return args.begin_epoch
    from core.model_io import available_epochs
    have = [e for e in available_epochs(args.prefix) if e <= args.end_epoch]
    if not have:
        raise FileNotFoundError('--begin_epoch last: no checkpoint %s-NNNN.params to continue from' % args.prefix)
    return max(have)


def training_settings(args, script):
    """A :class:`core.train.TrainSettings` from parsed :func:`training_parser` flags."""
    from config import landmark_image_root
    from core.train import TrainSettings
    network = check_kind(script, args.network)
    image_set, _ = resolve_list(args.image_set)
    if not image_set or not os.path.isfile(image_set):
        raise FileNotFoundError('training list not found: %s (a path, or a name under %s)'
                                % (args.image_set, os.path.join(config.root, 'data', 'imglists')))
    online = getattr(args, 'online', False)
    image_root = getattr(args, 'image_root', None) or (landmark_image_root(image_set) if online else None)
    return TrainSettings(
        network=network, image_set=image_set, prefix=args.prefix, lr=args.lr,
        lr_epoch=tuple(csv_list(args.lr_epoch, int, 'lr_epoch')), begin_epoch=_begin_epoch(args),
        end_epoch=args.end_epoch, batch_size=args.batch_size, wd=args.wd, optimizer=args.optimizer,
        with_landmark=getattr(args, 'with_landmark', False), basenum=getattr(args, 'basenum', None),
        ohem=not args.no_ohem, flip=not args.no_flip, prelu_init=args.prelu_init, micro_batch=args.micro_batch,
        seed=args.seed, workers=args.workers, frequent=args.frequent, save_every=args.save_every,
        val_list=resolve_list(args.val_list)[0], val_ratio=args.val_ratio, online=online,
        list_format=getattr(args, 'list_format', 'cuhk'), image_root=image_root,
        min_landmark_size=getattr(args, 'min_landmark_size', 0), resume=args.resume,
        landmark_loss=getattr(args, 'landmark_loss', 'l2'), target_norm=getattr(args, 'target_norm', False),
        framing=getattr(args, 'framing', 'original'), photometric=getattr(args, 'photometric', True),
        box_jitter=tuple(csv_list(getattr(args, 'box_jitter', '0.05,0.1,15'), float, 'box_jitter')),
        pretrained=args.pretrained or (args.prefix if args.resume and args.phase > 1 else None),
        epoch=args.epoch, gpus=args.gpus, kvstore=args.kvstore, quiet=args.quiet)


def train_main(doc, script, argv=None):
    """Entry point of train_P20.py & co.: parse, train, exit code."""
    import logging
    ap = training_parser(doc, script, argv)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(message)s')

    def main(_):
        from core.train import train
        settings = training_settings(args, script)
        if settings.resume and settings.begin_epoch >= settings.end_epoch:
            print('nothing to do: %s is at epoch %d, --end_epoch is %d' % (settings.prefix, settings.begin_epoch,
                                                                            settings.end_epoch))
            return 0
        train(settings)
        return 0
    return run(main, argv)

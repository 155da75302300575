"""Command-line plumbing shared by the entry points and tools: detector flags, checkpoint flags and
the error policy (one line ``error: <file>: <what is wrong>`` and a non-zero exit, never a
traceback for bad input; Ctrl-C exits 130 with a line saying how to resume)."""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault('OPENCV_LOG_LEVEL', 'ERROR')  # OpenCV's own warnings repeat what the one-line errors say
if 'cv2' in sys.modules:  # imported before this module: too late for the variable
    try:
        sys.modules['cv2'].utils.logging.setLogLevel(sys.modules['cv2'].utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover
        pass
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from config import config  # noqa: E402
from core.common.errors import SettingError  # noqa: E402


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the module docstring's layout and shows every flag's default."""


def parser(doc, **kw):
    return argparse.ArgumentParser(description=doc, formatter_class=HelpFormatter, **kw)


def csv_list(text, cast=str, what='value'):
    """``'a,b,c'`` -> [cast(a), ...]; a bad item is a :class:`SettingError` naming ``what`` (a flag)."""
    out = []
    for v in str(text).split(','):
        if v.strip() == '':
            continue
        try:
            out.append(cast(v.strip()))
        except ValueError:
            raise SettingError('%s: %r is not %s' % (what, v.strip(), {int: 'a whole number', float: 'a number'}
                                                     .get(cast, 'a ' + cast.__name__)))
    return out


def number(cast=int, low=None, high=None, above=None, below=None):
    """An argparse type: a whole number (``cast=int``) or a finite number in the range given (inclusive
    ``low``/``high``, exclusive ``above``/``below``); argparse names the flag in its error."""
    import math

    def parse(text):
        try:
            v = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError('%r is not %s' % (text, 'a whole number' if cast is int else 'a number'))
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError('%r is not a finite number' % text)
        for bound, ok, words in ((low, v >= (low or 0), 'at least'), (high, v <= (high or 0), 'at most'),
                                 (above, v > (above or 0), 'above'), (below, v < (below or 0), 'below')):
            if bound is not None and not ok:
                raise argparse.ArgumentTypeError('%s must be %s %s' % (text, words, bound))
        return v
    parse.__name__ = 'whole number' if cast is int else 'number'
    return parse


def positive_int(flag=None, zero=False):
    """An argparse type: a whole number of at least 1 (or 0 with ``zero``)."""
    return number(int, low=0 if zero else 1)


def input_errors():
    """The exception types that mean bad input, reported in one line naming the file, line or flag:
    this project's :class:`core.common.errors.InputError` (format, setting, model, image and data errors),
    a network asked for with settings it does not have, and the operating system's file errors. Anything
    else is a bug."""
    from core.common.errors import InputError
    errors = (InputError, OSError)
    if 'symbols' in sys.modules:  # only a command that built networks can have asked for a wrong one
        errors += (sys.modules['symbols'].NetworkError,)
    return errors


BUG = ('error: the above is a bug in train-mtcnn, not a problem with your input; please report it with the command '
       'line and the traceback')


def run(main, argv=None):
    """Run ``main(argv)`` under the error policy; returns the exit code: 0, 2 for bad input (one line),
    3 for a bug (its traceback and a line saying so), 130 when interrupted. SIGTERM is handled like
    Ctrl-C, and a command started by the pipeline stops when the pipeline is gone."""
    from core.common.lifecycle import terminate_as_interrupt, watch_env
    terminate_as_interrupt()
    watch_env()
    try:
        return main(argv)
    except KeyboardInterrupt as exc:
        # an interrupt can land inside a runtime's object constructor; its half-built objects then fail in their
        # finalizers as the process exits, which says nothing the interrupt line does not
        sys.unraisablehook = lambda unraisable: None
        from core.common.lifecycle import Interrupted
        say('\n' + (str(exc) if isinstance(exc, Interrupted) else 'interrupted; rerun the same command to resume'))
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`, or a killed pipeline): stop quietly
        sys.stdout = sys.stderr = open(os.devnull, 'w')
        return 0
    except input_errors() as exc:
        say('error: %s' % exc)
        return 2
    except Exception:  # noqa: BLE001 - a bug: shown whole, and called one
        import traceback
        say(traceback.format_exc().rstrip())
        say(BUG)
        return 3


def say(text):
    """A line on stderr; nothing when its reader is gone (a pipeline killed while this command ran)."""
    try:
        print(text, file=sys.stderr)
    except OSError:
        sys.stderr = open(os.devnull, 'w')


# --- checkpoints and detectors ---------------------------------------------------------------------

def add_checkpoint_args(ap, required=True):
    """--prefix/--epoch/--network of a single checkpoint."""
    ap.add_argument('--prefix', required=required, help='checkpoint prefix (files <prefix>-symbol.json, '
                                                         '<prefix>-NNNN.params)')
    ap.add_argument('--epoch', type=int, required=required, help='checkpoint epoch')
    ap.add_argument('--network', default=None, help='registered variant (default: read from the checkpoint or matched)')
    return ap


def load_checkpoint(args):
    from core.runtime.model_io import load_model
    return load_model(args.prefix, args.epoch, network=args.network)


def add_detector_args(ap, committed_defaults=True, point='default'):
    """Cascade flags (the original demo20.py's, plus network names, backend and landmark nets). Without
    ``--prefix`` the cascade is the committed default models at ``--point`` (their card's settings) or,
    with ``committed_defaults=False``, the original's shipped ones; a settings flag replaces one setting.
    Every default is :class:`core.recipes.cascade_settings.CascadeSettings`'."""
    from core.common.image import MAX_PIXELS
    from core.detect.cascade import BACKENDS, POINTS, SCHEMES
    from core.recipes.cascade_settings import DEFAULTS
    ap.set_defaults(committed_defaults=committed_defaults)
    ap.add_argument('--prefix', default=None, help='checkpoint prefixes P[,R[,O]] (default: %s)'
                    % ('model/default (models.json)' if committed_defaults else "the original's shipped models"))
    ap.add_argument('--epoch', default=None, help='epochs, one per prefix (default: those of the default models)')
    ap.add_argument('--card', default=None, help='a published cascade: its models.json or the folder holding it '
                    '(default: model/default)')
    ap.add_argument('--pnet', default=None, help='Pnet variant (default: read/matched from the checkpoint)')
    ap.add_argument('--rnet', default=None, help='Rnet variant')
    ap.add_argument('--onet', default=None, help='Onet variant')
    ap.add_argument('--point', choices=POINTS, default=point,
                    help="the default models' operating point (chosen on the dev split): default = high "
                         'precision and fast, accurate = the best dev AP')
    ap.add_argument('--thresh', default=None, help="stage thresholds, one per prefix, each in [0, 1] (default: the "
                    "default models' at --point; with --prefix %s)" % ','.join('%g' % t for t in DEFAULTS.thresh))
    ap.add_argument('--onet_flip', choices=('on', 'off'), default=None,
                    help="average the Onet's face probability over each crop and its mirror (default: as "
                         "the default models' --point records it, else off)")
    ap.add_argument('--onet_passes', default=None,
                    help='run the Onet again on its own boxes, N passes in all (default: as --point records, else 1)')
    ap.add_argument('--min_face', default=None, help="smallest face in pixels (default: the models' own, else %g)"
                    % DEFAULTS.min_face)
    ap.add_argument('--factor', default=None, help='pyramid scale factor (default %g)' % DEFAULTS.factor)
    ap.add_argument('--lnet', default=None, help='5-point Lnet checkpoint as prefix,epoch (default: the default '
                                                  "models' own when --prefix is not given; 'none' for none)")
    ap.add_argument('--lnet106', default=None, help='106-point Lnet checkpoint as prefix,epoch')
    ap.add_argument('--lnet_flip', choices=('on', 'off'), default=None,
                    help='average the 5-point Lnet\'s points over each face crop and its mirror (default: as the '
                         "default models record it for their own Lnet, else off)")
    ap.add_argument('--backend', choices=list(BACKENDS), default='mxnet',
                    help='run the nets with MXNet, ONNX Runtime or OpenCV DNN (both exported on the fly)')
    ap.add_argument('--threads', type=positive_int('--threads'), default=2, help='ONNX Runtime / OpenCV threads')
    ap.add_argument('--scheme', choices=list(SCHEMES), default='original',
                    help="candidate flow: the training toolkit's (original; mining and faithful results) or the "
                         "one ZQCNN's C++ MTCNN runs (zqcnn; preview what a ZQCNN deployment finds)")
    ap.add_argument('--nms', default=None, help='zqcnn scheme: NMS thresholds of the three stages (default 0.4,0.5,0.5)')
    ap.add_argument('--legacy_clip', action='store_true',
                    help="reproduce the original's in-place clipping of boxes by the crop step")
    ap.add_argument('--gpu', type=int, default=-1, help='GPU id, -1 = CPU')
    ap.add_argument('--max_pixels', type=positive_int('--max_pixels', zero=True), default=MAX_PIXELS,
                    help='refuse larger images (0 = no limit)')
    return ap


def _landmark_flag(text, what):
    if not text or text.lower() == 'none':
        return None
    prefix, _, epoch = text.rpartition(',')
    if not prefix or not epoch.isdigit():
        raise SettingError('%s takes prefix,epoch (e.g. model/lnet,16), got %r' % (what, text))
    return [prefix, int(epoch)]


def _settings_flags(args, settings, n_stages):
    """``settings`` with the settings flags that were given applied, each checked and named."""
    from core.recipes.cascade_settings import stage_thresholds
    given = dict(min_face=getattr(args, 'min_face', None), factor=getattr(args, 'factor', None),
                 onet_passes=getattr(args, 'onet_passes', None))
    for flag in ('onet_flip', 'lnet_flip'):
        if getattr(args, flag, None):
            given[flag] = getattr(args, flag) == 'on'
    for k, v in given.items():
        if v is not None:
            settings = settings.replace('--' + k, **{k: v})
    if getattr(args, 'thresh', None) is not None:
        settings = settings.replace(thresh=stage_thresholds(args.thresh, n_stages, '--thresh'))
    return settings


def peer_settings(args, settings):
    """A three-net peer's settings with the settings flags given."""
    return _settings_flags(args, settings, 3)


def resolve_detector_args(args):
    """The keyword arguments of :func:`core.detect.cascade.build_cascade` the flags ask for: the default
    models' card at ``--point`` (or the checkpoints of ``--prefix`` with the default settings), then each
    settings flag given."""
    from core.detect.cascade import default_card
    from core.recipes.cascade_settings import DEFAULTS, stage_thresholds
    if args.prefix and getattr(args, 'card', None):
        raise SettingError('--card and --prefix name two cascades: give one')
    if args.prefix:
        prefixes, card = csv_list(args.prefix), None
        if not args.epoch:
            raise SettingError('--epoch is required with --prefix (one epoch per prefix, e.g. --epoch 16,16,16)')
        settings = DEFAULTS.replace(thresh=stage_thresholds(None, len(prefixes)))
    else:
        card = default_card(getattr(args, 'committed_defaults', True), getattr(args, 'point', 'default'),
                            getattr(args, 'card', None))
        prefixes, settings = list(card.prefix), card.settings(getattr(args, 'point', 'default'))
    epochs = csv_list(args.epoch, int, '--epoch') if args.epoch else list(card.epoch)
    scheme = getattr(args, 'scheme', 'original')
    lnet = _landmark_flag(args.lnet, '--lnet') if args.lnet else (card.lnet if card else None)
    if card and (args.lnet or scheme != 'original'):  # the card's lnet_flip is its own Lnet's, in its own flow
        settings = settings.reset('lnet_flip')
    if card and scheme != 'original':  # ZQCNN's flow has no Onet test-time options
        settings = settings.reset('onet_flip', 'onet_passes')
    settings = _settings_flags(args, settings, len(prefixes))
    networks = [args.pnet, args.rnet, args.onet][:len(prefixes)]
    out = dict(prefixes=prefixes, epochs=epochs, networks=networks if any(networks) or not card else card.networks,
               settings=settings, backend=args.backend, threads=args.threads, lnet=lnet,
               lnet106=_landmark_flag(args.lnet106, '--lnet106'), legacy_clip=args.legacy_clip)
    if scheme != 'original':
        out['scheme'] = scheme
        out.pop('legacy_clip')
        if getattr(args, 'nms', None):
            out['nms'] = csv_list(args.nms, float, '--nms')
    elif getattr(args, 'nms', None):
        raise SettingError('--nms applies to --scheme zqcnn only')
    return out


def detector_from_args(args, landmarks=True):
    """An :class:`core.detect.detector.MtcnnDetector` from :func:`add_detector_args` flags; ``landmarks=False``
    leaves the landmark nets out (box evaluations, which would only pay for them)."""
    from core.detect.cascade import build_cascade
    ctx = None
    if args.gpu >= 0:
        from core.common.devices import gpu_context
        ctx = gpu_context(args.gpu)
    kw = resolve_detector_args(args)
    if not landmarks:
        kw.update(lnet=None, lnet106=None)
    return build_cascade(ctx=ctx, **kw)


# --- training --------------------------------------------------------------------------------------

# each entry point: the kind of network it trains (a Pnet script given an Rnet is a mistake) and its
# default recipe (scripts/recipes/train/<name>.json)
SCRIPT_KINDS = {'train_P20.py': ('pnet', 20, 'P20'), 'train_P16.py': ('pnet', 16, 'P16'),
                'train_R.py': ('rnet', None, 'R'), 'train_O.py': ('onet', None, 'O'),
                'train_L.py': ('lnet', 5, 'L'), 'train_L106.py': ('lnet', 106, 'L106')}
# the original scripts' spellings of two flags
_ALIASES = {'workers': ['--thread_num'], 'no_online': ['--offline']}


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


def _add_field(group, f, default):
    """One flag per field (two for a bool: --name / --no_name), its default the recipe's, shown in --help.
    Nothing is stored unless given, so the recipe chosen with --recipe supplies the rest."""
    from core.recipes.fields import flag_text, kind as _kind
    doc = f.metadata['doc'].replace('%', '%%')
    shown = 'none' if default is None else flag_text(default)
    if _kind(f.type)[0] is bool:
        state = 'on; --no_%s turns it off' % f.name if default else 'off'
        group.add_argument('--' + f.name, *_ALIASES.get(f.name, []), dest=f.name, action='store_true',
                           default=argparse.SUPPRESS, help='%s (default: %s)' % (doc, state))
        group.add_argument('--no_' + f.name, *_ALIASES.get('no_' + f.name, []), dest=f.name, action='store_false',
                           default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return
    extra = dict(choices=f.metadata['choices']) if f.metadata['choices'] else {}
    if f.name == 'begin_epoch':
        extra['type'] = _epoch_or_last
        doc += "; 'last' = the newest checkpoint"
    group.add_argument('--' + f.name, *_ALIASES.get(f.name, []), dest=f.name, default=argparse.SUPPRESS,
                       help='%s (default: %s)' % (doc, shown), **extra)


def training_parser(doc, script):
    """The trainer's flags, generated from the fields of :class:`core.recipes.training_recipe.StageRecipe`,
    :class:`core.recipes.training_recipe.Phase` and :class:`core.recipes.training_recipe.RunOptions` (those that apply to the nets the
    script trains). A flag that is given replaces the value of the recipe (``--recipe``) for this run;
    the defaults shown are the script's default recipe."""
    from core.recipes import training_recipe as R
    kind, _, name = SCRIPT_KINDS[script]
    base = R.load(name)
    ap = parser(doc, argument_default=argparse.SUPPRESS)
    ap.add_argument('--recipe', default=name, help='a recipe of %s (%s) or a recipe file; its settings are the '
                    'defaults of the flags below' % (os.path.relpath(R.RECIPE_DIR, REPO), ', '.join(R.for_script(script))))
    ap.add_argument('--phase', type=int, default=1, help='the trainer command of the recipe to run (a later phase '
                    'continues from the checkpoint the one before ended with, at its own lr)')
    g = ap.add_argument_group('the recipe: model, data and switches')
    for f in R.fields(R.StageRecipe, kind):
        _add_field(g, f, getattr(base, f.name))
    g = ap.add_argument_group('the phase: schedule, batch and optimizer (defaults: the recipe\'s phase 1)')
    for f in R.fields(R.Phase, kind):
        _add_field(g, f, getattr(base.phases[0], f.name))
    g = ap.add_argument_group('this run')
    for f in R.fields(R.RunOptions, kind):
        _add_field(g, f, os.environ.get('GPUS', f.default) if f.name == 'gpus' else f.default)
    return ap


def check_kind(script, network):
    """The registered spelling of ``network``, if ``script`` trains that kind of net; a clear error otherwise."""
    import symbols
    network = symbols.canonical_name(network)
    info = symbols.network_info(network)
    kind, size, _ = SCRIPT_KINDS[script]
    detail = info['size'] if kind == 'pnet' else info['n_points'] if kind == 'lnet' else None
    if info['kind'] != kind or (size is not None and detail != size):
        want = {'pnet': 'Pnet%d' % (size or 0), 'rnet': 'Rnet', 'onet': 'Onet', 'lnet': '%d-point landmark' % (size or 0)}
        right = next(sc for sc, (k, n, _) in SCRIPT_KINDS.items() if k == info['kind'] and n in (
            None, info['size'] if k == 'pnet' else info['n_points']))
        raise SettingError('%s trains %s networks; %s is a %s net (use %s)' % (script, want[kind], network,
                                                                           info['kind'], right))
    return network


def training_run(args, script):
    """(recipe, phase, run options, begin_epoch) of parsed :func:`training_parser` flags: the recipe
    with the given flags applied, its paths resolved (a recipe's relative prefix is under the
    project root, a flag's as given; lists also by name under data/imglists)."""
    import dataclasses
    from config import landmark_image_root
    from core.recipes import training_recipe as R
    given = dict(vars(args))
    recipe_name, phase = given.pop('recipe'), given.pop('phase')
    begin = given.pop('begin_epoch', None)
    run_names = {f.name for f in dataclasses.fields(R.RunOptions)}
    run = {k: given.pop(k) for k in list(given) if k in run_names}
    if 'gpus' not in run and os.environ.get('GPUS'):
        run['gpus'] = os.environ['GPUS']
    recipe = R.load(recipe_name)
    recipe.phase(phase)  # a clear error for a phase the recipe does not have
    if recipe.script and recipe.script != script:
        raise SettingError('recipe %s is for %s, not %s' % (recipe_name, recipe.script, script))
    recipe = dataclasses.replace(recipe, prefix=os.path.join(config.root, recipe.prefix))
    recipe = R.override(recipe, phase, given, 'command line')
    network = check_kind(script, recipe.network)
    image_set, _ = resolve_list(recipe.image_set)
    if not image_set or not os.path.isfile(image_set):
        raise FileNotFoundError('training list not found: %s (a path, or a name under %s)'
                                % (recipe.image_set, os.path.join(config.root, 'data', 'imglists')))
    recipe = dataclasses.replace(recipe, network=network, image_set=image_set)
    run = R.build(R.RunOptions, run, 'command line')
    if recipe.online and not run.image_root:
        run = dataclasses.replace(run, image_root=landmark_image_root(image_set))
    if run.val_list:
        run = dataclasses.replace(run, val_list=resolve_list(run.val_list)[0])
    return recipe, phase, run, begin


def train_main(doc, script, argv=None):
    """Entry point of train_P20.py & co.: parse, train, exit code."""
    import logging
    ap = training_parser(doc, script)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(message)s')

    def main(_):
        from core.recipes.training_recipe import RunOptions
        from core.train import threads
        # before anything loads MXNet, which reads its thread count once
        threads.apply(getattr(args, 'threads', None), getattr(args, 'workers', RunOptions.workers))
        from core.train.trainer import train
        recipe, phase, run_options, begin = training_run(args, script)
        if train(recipe, phase, run_options, begin) == {}:
            print('nothing to do: %s has reached epoch %d' % (recipe.prefix, recipe.phase(phase).end_epoch))
        return 0
    return run(main, argv)

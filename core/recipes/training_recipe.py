"""Typed training recipes: every setting of a trainer run with one name, one default and one home.

A :class:`StageRecipe` is what one .bat training step of the original says: the net, its data, its
switches, and its :class:`Phase` list (one trainer command each; a later phase continues from the
checkpoint the one before ended with). :class:`RunOptions` are the settings of one invocation that
do not change what is learned (devices, workers, where to resume). Each field's default below is the
original's value, written nowhere else: the entry points generate their flags from these fields
(``cli.training_parser``), the pipeline renders a recipe back into those flags (:func:`to_argv`).

Recipe files are JSON objects under ``scripts/recipes/train/`` (``--recipe NAME``) or anywhere
(``--recipe path.json``). ``"_base_": "P20.json"`` inherits another file (a path relative to the
inheriting file), which then states only what differs; a ``phases`` list replaces the base's whole
list, and each phase entry states only what differs from :class:`Phase`'s defaults. Keys starting
with ``_`` are comments.
"""
import dataclasses
import difflib
import os
import typing

from config import REPO_ROOT

from core.common.fileio import FormatError, load_json

RECIPE_DIR = os.path.join(REPO_ROOT, 'scripts', 'recipes', 'train')

# which nets a flag applies to (an entry point shows the flags of the nets it trains)
ALL, LANDMARK, LNET = ('pnet', 'rnet', 'onet', 'lnet'), ('onet', 'lnet'), ('lnet',)


def _field(default, doc, kinds=ALL, choices=None):
    return dataclasses.field(default=default, metadata=dict(doc=doc, kinds=kinds, choices=choices))


@dataclasses.dataclass(frozen=True)
class Phase:
    """One trainer command of a recipe: its schedule, batch and optimizer."""
    lr: float = _field(0.01, 'learning rate (losses are means over a batch)')
    lr_epoch: typing.Tuple[int, ...] = _field((8, 14), 'epochs where lr is multiplied by 0.1')
    end_epoch: int = _field(16, 'last epoch')
    batch_size: int = _field(512, 'samples per step (all devices)')
    frequent: int = _field(100, 'log every this many batches')
    wd: float = _field(1e-5, 'weight decay (weights and gammas)')
    optimizer: str = _field('sgd', "SGD with momentum 0.9 (the original's) or Adam (beta1 0.9)", choices=('sgd', 'adam'))
    begin_epoch: typing.Optional[int] = _field(None, 'first epoch (with --resume: the checkpoint to continue from; '
                                                     'none: 0 in a first phase, the newest checkpoint in a later one)')
    resume: bool = _field(False, 'continue from --prefix at --begin_epoch (else from --pretrained at --epoch)')
    fresh_optimizer: bool = _field(True, "a later phase: start a fresh optimizer from the previous phase's last "
                                         "weights (the original's second .bat command); off: continue its state "
                                         'when lr, schedule and batch are unchanged')


@dataclasses.dataclass(frozen=True)
class StageRecipe:
    """One training step: the net, its data and switches, and its phases."""
    script: str = _field('', 'the entry point that runs it (train_P20.py, ...)', kinds=())
    network: str = _field('', 'registered variant (case-insensitive)')
    image_set: str = _field('', 'training list: a path, or a name under data/imglists')
    prefix: str = _field('', 'checkpoint prefix (relative paths: under the project root)')
    phases: typing.Tuple[Phase, ...] = _field((Phase(),), 'the trainer commands', kinds=())
    seed: int = _field(0, 'seed of initialisation, shuffling, augmentation and the held-out split')
    val_ratio: float = _field(0.02, 'held-out fraction when there is no --val_list')
    save_every: int = _field(1, 'checkpoint every N epochs (and the last)')
    ohem: bool = _field(True, 'online hard example mining in the losses (off: keep every sample)')
    flip: bool = _field(True, 'double the epoch with mirrored samples (sample lists)')
    prelu_init: float = _field(1.0, "initial PReLU slope (the original's 1.0, the identity)")
    basenum: typing.Optional[int] = _field(None, 'Lnet width (16/32/64/128; none: the variant\'s own, 32)', kinds=LNET)
    with_landmark: bool = _field(False, 'also train the 5-point head on landmark samples (label -2)', kinds=('onet',))
    landmark_loss: str = _field('l2', "landmark regression: squared error (the original's) or absolute error",
                                kinds=LANDMARK, choices=('l2', 'l1'))
    target_norm: bool = _field(False, "freeze the landmark output BatchNorm at the training targets' mean and std, "
                                      'so the net learns standardised targets (the inference graph is unchanged)',
                               kinds=LANDMARK)
    online: bool = _field(False, 'online augmentation from a landmark list (rotation, crop, flip, blur); off '
                                 '(--offline): pre-cut crops (a sample list)', kinds=LNET)
    list_format: str = _field('cuhk', 'online landmark list format', kinds=LNET, choices=('celeba', 'cuhk', 'l106'))
    framing: str = _field('original', "online 5-point crops: the original's random 0.5-2.5x crops, or the "
                                      "detector's box of each face (prepare_data/landmark_boxes.py) slightly jittered",
                          kinds=LNET, choices=('original', 'box'))
    box_jitter: typing.Tuple[float, ...] = _field((0.05, 0.1, 15.0), 'framing box: centre shift and side scale '
                                                                     '(fractions of the side), rotation (degrees)',
                                                  kinds=LNET)
    min_landmark_size: float = _field(0.0, 'online: keep faces whose landmark extent is at least this many pixels',
                                      kinds=LNET)
    photometric: bool = _field(True, 'online landmark lists: the brightness, grey/colour, noise and blur switches '
                                     'below (off: geometric augmentation only)', kinds=LNET)
    # the original's config.py augmentation switches: every training batch gets a brightness factor,
    # then grey or per-channel gains, then Gaussian noise; landmark batches are also blurred
    enable_gray: bool = _field(True, 'grey copies among the colour augmentation')
    enable_color_jitter: bool = _field(True, 'brightness and per-channel gains')
    enable_gaussian_noise: bool = _field(True, 'Gaussian noise')
    enable_blur: bool = _field(True, 'blur landmark batches', kinds=LNET)
    enable_black_border: bool = _field(False, 'a grey band over part of each crop (P/R/O: from the left, up to 0.6 '
                                              'of the side; 106-point crops: left or right, up to half the side)')
    min_rot_angle: int = _field(-45, 'online landmark crops: smallest rotation (degrees)', kinds=LNET)
    max_rot_angle: int = _field(45, 'online landmark crops: largest rotation (degrees)', kinds=LNET)
    landmark106_migu_weighting: bool = _field(False, '106 points: double the eyebrow and lip targets (4x their loss; '
                                                     'predictions are halved when such a net runs)', kinds=LNET)
    landmark106_migu_random_flip: bool = _field(False, '106 points: mirror crops (re-indexing the points)', kinds=LNET)
    landmark106_migu_init_rot: bool = _field(False, '106 points: make each face upright before its random rotation',
                                             kinds=LNET)

    def phase(self, n):
        """Phase ``n`` (1-based), with a clear error when the recipe has fewer."""
        if not 1 <= n <= len(self.phases):
            raise ValueError('recipe %s has %d phase(s), not %d' % (self.prefix or self.network, len(self.phases), n))
        return self.phases[n - 1]

    def augment(self):
        """The augmentation switches and landmark framing, by name (what the batch makers read)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name.startswith(('enable_', 'landmark106_')) or f.name.endswith('_rot_angle')
                or f.name in ('photometric', 'framing', 'box_jitter')}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Settings of one invocation that do not change what is learned."""
    val_list: typing.Optional[str] = _field(None, 'validation list (default: a held-out split of the training list)')
    image_root: typing.Optional[str] = _field(None, "online landmark lists: image folder (default: data/<config."
                                                    "landmark_img_set> for a list named under data/imglists, else "
                                                    "the list's folder)", kinds=LNET)
    pretrained: typing.Optional[str] = _field(None, 'checkpoint prefix to start from (with --epoch)')
    epoch: typing.Optional[int] = _field(None, 'epoch of --pretrained')
    micro_batch: int = _field(-1, 'chunk size of gradient accumulation (-1 auto: cache-sized on CPU; 0 off); '
                                  'chunks do OHEM and BN like devices')
    gpus: str = _field('', 'e.g. 0 or 0,1; empty = CPU (environment variable GPUS)')
    kvstore: str = _field('device', 'device, local, or dist_sync (see tools/launch.py)')
    workers: int = _field(2, 'processes decoding and augmenting batches (0 = in the training process)')
    quiet: bool = _field(False, 'no progress bar')


# --- values -------------------------------------------------------------------------------------------

def _kind(tp):
    """(base type, is a tuple, optional) of a field annotation."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union:  # Optional[X]
        return _kind(next(a for a in args if a is not type(None)))[:2] + (True,)
    if typing.get_origin(tp) is tuple:
        return args[0], True, False
    return tp, False, False


def coerce(field, value, where):
    """``value`` (JSON or command-line text) as ``field``'s type; a clear error naming ``where``."""
    base, seq, optional = _kind(field.type)
    if optional and (value is None or str(value).strip().lower() in ('', 'none')):
        return None
    try:
        if seq:
            items = value if isinstance(value, (list, tuple)) else [v for v in str(value).split(',') if v.strip()]
            return tuple(_scalar(base, v) for v in items)
        out = _scalar(base, value)
    except (TypeError, ValueError):
        raise ValueError('%s: %s=%r is not a%s %s' % (where, field.name, value, 'n' if base is int else '',
                                                      ('list of %ss' % base.__name__) if seq else base.__name__))
    choices = field.metadata.get('choices')
    if choices and out not in choices:
        raise ValueError('%s: %s=%r is not one of %s' % (where, field.name, value, ', '.join(choices)))
    return out


def _scalar(base, v):
    if base is bool:
        if isinstance(v, bool):
            return v
        text = str(v).strip().lower()
        if text not in ('1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'):
            raise ValueError(v)
        return text in ('1', 'true', 'yes', 'on')
    if base in (int, float):
        if isinstance(v, bool):
            raise ValueError(v)
        x = float(str(v).strip())
        if base is int and x != int(x):
            raise ValueError(v)
        return int(x) if base is int else x
    return str(v)


def fields(cls, kind=None):
    """The fields of a recipe class (those whose flags apply to nets of ``kind``)."""
    return [f for f in dataclasses.fields(cls) if kind is None or kind in f.metadata['kinds']]


def _unknown(cls, key, where):
    names = [f.name for f in dataclasses.fields(cls)]
    close = difflib.get_close_matches(key, names, n=3)
    return ValueError('%s: unknown %s setting %r%s' % (where, cls.__name__, key,
                                                      ' (did you mean %s?)' % ', '.join(close) if close else ''))


def build(cls, values, where):
    """``cls(**values)`` with every value coerced to its field's type and unknown keys refused."""
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    out = {}
    for k, v in values.items():
        if k.startswith('_'):
            continue
        if k not in by_name:
            raise _unknown(cls, k, where)
        if cls is StageRecipe and k == 'phases':
            if not isinstance(v, (list, tuple)) or not v:
                raise ValueError('%s: phases must be a non-empty list of phase settings' % where)
            out[k] = tuple(p if isinstance(p, Phase) else build(Phase, _object(p, where), where) for p in v)
        else:
            out[k] = coerce(by_name[k], v, where)
    return cls(**out)


def _object(data, where):
    if not isinstance(data, dict):
        raise FormatError('%s: each phase of a recipe is a JSON object of settings' % where)
    return data


# --- files --------------------------------------------------------------------------------------------

def recipe_path(name):
    """A recipe file: a path as given, or ``scripts/recipes/train/<name>.json``."""
    if os.path.isfile(name):
        return name
    path = os.path.join(RECIPE_DIR, name if name.endswith('.json') else name + '.json')
    if not os.path.isfile(path):
        raise FileNotFoundError('training recipe not found: %s (a path, or one of %s)' % (name, ', '.join(names())))
    return path


def names():
    """Every recipe under ``scripts/recipes/train``."""
    return sorted(n[:-5] for n in os.listdir(RECIPE_DIR) if n.endswith('.json'))


def inherited(path, what='training recipe', seen=()):
    """[(file, settings)] of a recipe file and the files its ``"_base_"`` chain names (each relative to
    the file naming it), the deepest base first. Used by training and pipeline recipes alike."""
    path = os.path.abspath(path)
    if path in seen:
        raise FormatError('%s: _base_ chain loops back to itself' % path)
    data = load_json(path, what)
    if not isinstance(data, dict):
        raise FormatError('%s: a %s is a JSON object of settings' % (path, what))
    base = data.get('_base_')
    return (inherited(os.path.join(os.path.dirname(path), base), what, seen + (path,)) if base else []) + \
        [(path, data)]


def _raw(path):
    """A training recipe file's settings with its ``_base_`` chain merged in (the file's own win)."""
    merged = {}
    for _, data in inherited(path):
        merged.update({k: v for k, v in data.items() if not k.startswith('_')})
    return merged


def load(name):
    """The :class:`StageRecipe` of a recipe name or file."""
    path = recipe_path(name)
    return build(StageRecipe, _raw(path), path)


def for_script(script):
    """The recipes an entry point runs (the files naming ``script``), in name order."""
    return [n for n in names() if _raw(recipe_path(n)).get('script') == script]


def override(recipe, phase, values, where):
    """``recipe`` with recipe-level ``values`` replaced and phase-level ones applied to phase ``phase``."""
    by_stage = {f.name: f for f in dataclasses.fields(StageRecipe)}
    by_phase = {f.name: f for f in dataclasses.fields(Phase)}
    top, ph = {}, {}
    for k, v in values.items():
        if k in by_stage:
            top[k] = coerce(by_stage[k], v, where)
        elif k in by_phase:
            ph[k] = coerce(by_phase[k], v, where)
        else:
            raise _unknown(StageRecipe, k, where)
    if ph:
        phases = list(recipe.phases)
        phases[phase - 1] = dataclasses.replace(recipe.phase(phase), **ph)
        top['phases'] = tuple(phases)
    return dataclasses.replace(recipe, **top)


def to_dict(recipe):
    """A recipe as JSON-ready settings (tuples as lists)."""
    return dataclasses.asdict(recipe, dict_factory=lambda kv: {k: list(v) if isinstance(v, tuple) else v
                                                                 for k, v in kv})


# --- command lines ------------------------------------------------------------------------------------

def flag_text(value):
    """A field value as its command-line text."""
    if isinstance(value, tuple):
        return ','.join(_number_text(v) for v in value)
    return _number_text(value)


def _number_text(v):
    return repr(v) if isinstance(v, float) else str(v)


def to_argv(recipe, phase=1, base=None, always=()):
    """The flags that make an entry point whose default recipe is ``base`` run ``recipe``'s phase
    ``phase``: every recipe-level and phase-level field that differs from ``base`` (and those named
    in ``always``), in field order; a bool field as ``--name`` or ``--no_name``."""
    base = base or StageRecipe()
    base_phase = base.phases[min(phase, len(base.phases)) - 1]
    argv = []
    for obj, ref, flist in ((recipe, base, fields(StageRecipe)), (recipe.phase(phase), base_phase, fields(Phase))):
        for f in flist:
            if not f.metadata['kinds'] or f.name in ('begin_epoch', 'resume', 'fresh_optimizer'):
                continue
            v = getattr(obj, f.name)
            if v == getattr(ref, f.name) and f.name not in always:
                continue
            if isinstance(v, bool):
                argv.append('--%s%s' % ('' if v else 'no_', f.name))
            elif v is not None:
                argv += ['--' + f.name, flag_text(v)]
    return argv
